"""Hugging Face `tokenizers` objects for the parity tests (shared by hf_encode.py and
gen_tokenizer_refs.py). Only tests and reference scripts use this; Forge never runs Python."""
import sys

try:
    import tokenizers
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
except ImportError as e:  # the test must fail, naming the fix
    sys.exit(f"missing Python module ({e}); run: bash scripts/setup.sh --test")

# llama.cpp's tokenizer.ggml.pre -> the Hugging Face pre-tokenizer it stands for.
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def hf_pre_tokenizer(pre):
    if pre == "gpt2":
        return pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    if pre == "smollm":
        return pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    if pre == "llama-bpe":
        return pre_tokenizers.Sequence([
            pre_tokenizers.Split(tokenizers.Regex(LLAMA3_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    raise SystemExit(f"unknown pre-tokenizer {pre!r}")


def read_gguf_vocab(path):
    """(tokens, merges, token_types, pre) from a GGUF file's tokenizer.ggml.* metadata."""
    try:
        import gguf
    except ImportError as e:
        sys.exit(f"missing Python module ({e}); run: bash scripts/setup.sh --test")
    reader = gguf.GGUFReader(path)

    def strings(key):
        f = reader.fields[key]
        return [bytes(f.parts[i]).decode("utf-8") for i in f.data]

    f = reader.fields["tokenizer.ggml.token_type"]
    types = [int(f.parts[i][0]) for i in f.data]
    pre_field = reader.fields["tokenizer.ggml.pre"]
    pre = bytes(pre_field.parts[pre_field.data[0]]).decode()
    return strings("tokenizer.ggml.tokens"), strings("tokenizer.ggml.merges"), types, pre


def from_gguf(path):
    """The HF tokenizer equivalent to a GGUF-embedded BPE vocabulary (what llama.cpp does)."""
    tokens, merges, types, pre = read_gguf_vocab(path)
    vocab = {t: i for i, t in enumerate(tokens)}
    pairs = [tuple(m.split(" ", 1)) for m in merges]
    tok = Tokenizer(models.BPE(vocab=vocab, merges=pairs, ignore_merges=(pre == "llama-bpe")))
    tok.pre_tokenizer = hf_pre_tokenizer(pre)
    tok.decoder = decoders.ByteLevel()
    # Control (3) and user-defined (4) tokens are matched whole in raw text.
    tok.add_special_tokens([AddedToken(t, special=(ty == 3), normalized=False)
                            for t, ty in zip(tokens, types) if ty in (3, 4)])
    return tok


def load(spec):
    """spec: {"kind": "json"|"vocab"|"gguf", "path": ..., "lowercase": bool}"""
    kind, path = spec["kind"], spec["path"]
    if kind == "json":
        return Tokenizer.from_file(path)
    if kind == "vocab":
        from tokenizers.implementations import BertWordPieceTokenizer
        return BertWordPieceTokenizer(path, lowercase=spec.get("lowercase", True))
    if kind == "gguf":
        return from_gguf(path)
    raise SystemExit(f"unknown tokenizer kind {kind!r}")
