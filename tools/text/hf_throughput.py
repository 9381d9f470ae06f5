#!/usr/bin/env python3
"""Hugging Face tokenizers throughput on the English fortunes, one thread, for comparison with
build/example_tokenizer_throughput. usage: hf_throughput.py TOKENIZER.json|vocab.txt"""
import glob
import os
import sys
import time

os.environ["TOKENIZERS_PARALLELISM"] = "false"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tokenizers  # noqa: E402


def fortunes(directory="/usr/share/games/fortunes"):
    texts = []
    for path in sorted(glob.glob(os.path.join(directory, "*"))):
        name = os.path.basename(path)
        if (os.path.isdir(path) or "." in name or name in ("chinese", "tang300", "song100")):
            continue
        raw = open(path, "rb").read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        texts += [q.strip("\n") for q in text.split("\n%\n") if q.strip()]
    return texts


def main():
    path = sys.argv[1]
    kind = "vocab" if path.endswith(".txt") else "json"
    tok = hf_tokenizers.load({"kind": kind, "path": path})
    tok.no_padding()
    tok.no_truncation()
    texts = fortunes()
    nbytes = sum(len(t.encode()) for t in texts)
    best = 1e30
    for _ in range(3):
        start = time.perf_counter()
        # One batch call (no per-text Python overhead); TOKENIZERS_PARALLELISM=false: one thread.
        n = sum(len(e.ids) for e in tok.encode_batch(texts, add_special_tokens=False))
        best = min(best, time.perf_counter() - start)
    print(f"HF {path}: {nbytes / best / 1e6:.1f} MB/s {n / best:.0f} tokens/s ({n} tokens, {best:.3f} s)")


if __name__ == "__main__":
    main()
