#!/usr/bin/env python3
"""Reference token ids of SmolLM2-135M-Instruct's GGUF-embedded vocabulary, from the Hugging Face
`tokenizers` library (built from the GGUF's tokens/merges/token types with the pre-tokenizer its
tokenizer.ggml.pre names, as llama.cpp does). Run once; the output is committed.

usage: .venv/bin/python tools/text/gen_tokenizer_refs.py [MODELS_DIR]
writes tests/text/data/smollm2_tokenizer_refs.json
"""
import glob
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tokenizers  # noqa: E402

TEXTS = [
    "Hello, world!",
    "The quick brown fox jumps over the lazy dog.",
    "I'm sure you'll see they've done it; we'd LOVE it, isn't it?",
    "She said: \"don't\" -- and 'quoted' text's fine.",
    "Numbers: 3.14159, 2024-11-23, 1,000,000 and x86_64 or 0xDEADBEEF.",
    "床前明月光，疑是地上霜。举头望明月，低头思故乡。",
    "机器学习 (machine learning) 是人工智能的一个分支。",
    "日本語のテキストと한국어 텍스트",
    "Emoji: 😀👍🏽🇫🇷 👨‍👩‍👧‍👦 ❤️ 🤖",
    "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }  // dot",
    "   leading spaces and trailing   ",
    "tabs\tand\t\tnewlines\n\n\nand\r\nCRLF",
    "many     spaces      between",
    "\n\n\n",
    " ",
    "",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>",
    "<|endoftext|>text after<|endoftext|><|endoftext|>",
    "not a special <|im_start token",
    "Ünïcödé àccents, naïve café, Straße, ΑΒΓ αβγ, Кириллица",
    "مرحبا بالعالم",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math 𝐀𝐁𝐂 and ancient 𐌰𐌱𐌲",
    "URL: https://example.com/path?q=1&r=2#frag email@test.org",
    "¡Hola! ¿Qué tal? «guillemets» „Anführungszeichen“",
    "1234567890 12 345 6789",
    "a\u00a0b\u3000c\u2003d",
]


def main():
    models = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "models")
    paths = glob.glob(os.path.join(models, "smollm2-135m-instruct", "*.gguf"))
    if not paths:
        sys.exit(f"no SmolLM2 GGUF under {models}; run scripts/fetch_models.sh")
    tok = hf_tokenizers.from_gguf(paths[0])
    refs = {
        "source": os.path.basename(paths[0]),
        "tokenizers_version": hf_tokenizers.tokenizers.__version__,
        "cases": [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids} for t in TEXTS],
    }
    out = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "text", "data",
                       "smollm2_tokenizer_refs.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(refs, f, ensure_ascii=False, indent=1)
    print(f"wrote {os.path.normpath(out)} ({len(TEXTS)} cases)")


if __name__ == "__main__":
    main()
