#!/usr/bin/env python3
"""Encodes strings with Hugging Face `tokenizers` for the C++ parity tests.

usage: hf_encode.py SPEC.json OUT.json
SPEC: {"kind": "json"|"vocab"|"gguf", "path": ..., "lowercase": true,
       "add_special_tokens": false, "texts": [...]}
OUT:  {"version": tokenizers version, "ids": [[...], ...], "decoded": [...]}
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tokenizers  # noqa: E402


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        spec = json.load(f)
    tok = hf_tokenizers.load(spec)
    # Forge's encode never pads or truncates (MiniLM's tokenizer.json pads to 128).
    tok.no_padding()
    tok.no_truncation()
    add = spec.get("add_special_tokens", False)
    encodings = tok.encode_batch(spec["texts"], add_special_tokens=add)
    ids = [e.ids for e in encodings]
    decoded = tok.decode_batch(ids, skip_special_tokens=False)
    with open(sys.argv[2], "w", encoding="utf-8") as f:
        json.dump({"version": hf_tokenizers.tokenizers.__version__, "ids": ids, "decoded": decoded}, f)


if __name__ == "__main__":
    main()
