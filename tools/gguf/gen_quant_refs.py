#!/usr/bin/env python3
"""Reference fixtures for Forge's GGUF dequantization / quantization tests.

Writes tests/quant/data/quant_refs.gguf with the PyPI `gguf` package (pinned in
tools/requirements-test.txt). For every type T it stores:
  T.q    the quantized tensor (raw GGUF blocks), shape [4, 256]
  T.deq  gguf's dequantization of T.q as f32
and once `x`, the f32 input quantized for the types gguf can quantize (F16, BF16, Q8_0, Q4_0,
Q4_1, Q5_0, Q5_1: bytes must match). gguf has no K-quant quantizer, so Q4_K/Q5_K/Q6_K blocks
are random bytes with sane scales (dequantization must still match bit for bit).

Run: .venv/bin/python tools/gguf/gen_quant_refs.py   (from the repository root)
"""
import os

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize, dequantize

OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "quant", "data", "quant_refs.gguf")


def make_input(rng):
    x = np.zeros((4, 256), dtype=np.float32)
    x[0] = rng.standard_normal(256)
    x[1] = rng.uniform(-3, 3, 256)
    x[2] = rng.standard_normal(256) * 0.5
    x[2, 32:64] = 0.0            # an all-zero block
    x[2, 64:96] = 1.25           # a constant block
    x[2, 96:128] = -np.abs(x[2, 96:128])  # all negative
    x[3] = rng.standard_normal(256) * 0.01
    x[3, 7] = 4.0                # outliers
    x[3, 200] = -6.0
    return x.astype(np.float32)


def random_k_blocks(rng, qtype, rows):
    block, nbytes = gguf.GGML_QUANT_SIZES[qtype]
    nb = 256 // block
    raw = rng.integers(0, 256, size=(rows, nb, nbytes), dtype=np.uint8)
    d = (rng.uniform(0.001, 0.05, size=(rows, nb)).astype(np.float16)).view(np.uint8).reshape(rows, nb, 2)
    dmin = (rng.uniform(0.0, 0.02, size=(rows, nb)).astype(np.float16)).view(np.uint8).reshape(rows, nb, 2)
    if qtype == T.Q6_K:
        raw[:, :, 208:210] = d
    else:
        raw[:, :, 0:2] = d
        raw[:, :, 2:4] = dmin
    return raw.reshape(rows, nb * nbytes)


def main():
    rng = np.random.default_rng(20240601)
    x = make_input(rng)
    w = gguf.GGUFWriter(OUT, arch="quant_refs")
    w.add_tensor("x", x)
    for qtype in (T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1):
        q = x.astype(np.float16) if qtype == T.F16 else quantize(x, qtype)
        deq = dequantize(q.view(np.uint8) if qtype != T.F16 else q, qtype).astype(np.float32)
        if qtype == T.F16:
            w.add_tensor(f"{qtype.name}.q", q)
        else:
            w.add_tensor(f"{qtype.name}.q", q, raw_dtype=qtype)
        w.add_tensor(f"{qtype.name}.deq", deq.reshape(4, 256))
    for qtype in (T.Q4_K, T.Q5_K, T.Q6_K):
        q = random_k_blocks(rng, qtype, 4)
        deq = dequantize(q, qtype).astype(np.float32)
        w.add_tensor(f"{qtype.name}.q", q, raw_dtype=qtype)
        w.add_tensor(f"{qtype.name}.deq", deq.reshape(4, 256))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print("wrote", os.path.normpath(OUT), os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()
