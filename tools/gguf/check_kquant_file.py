#!/usr/bin/env python3
"""Checks a K-quant GGUF written by `forge quantize` against the PyPI `gguf` package (pinned in
tools/requirements-test.txt); used by tests/llm/kquant_model_test.cpp.

    check_kquant_file.py ORIGINAL.gguf QUANTIZED.gguf OUT_DIR TENSOR [TENSOR ...]

For each TENSOR it writes OUT_DIR/TENSOR.deq.f32 (gguf's dequantization of the quantized
tensor, raw little-endian f32; the test compares Forge's dequantization with it bit for bit) and
reports in OUT_DIR/report.json, for the original weights W (gguf's dequantization of ORIGINAL):
    type        the quantized tensor's ggml type name
    rms         RMS(dequantized - W), Forge's quantization error
    rms_<T>     RMS(gguf dequantize(gguf quantize(W, T)) - W) for the types gguf can quantize
                (Q4_0, Q5_0, Q8_0): the reference quantizers' error on the same weights
gguf 0.19 has no K-quant quantizer, so the quality of Forge's K-quant quantizer is checked
against those reference quantizers of similar or more bits per weight.
"""
import json
import os
import sys

import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as T
from gguf.quants import dequantize, quantize


def tensors_by_name(reader):
    return {t.name: t for t in reader.tensors}


def deq(t):
    shape = [int(x) for x in reversed(t.shape)]  # ne (fastest first) -> row-major shape
    data = np.asarray(t.data)
    if t.tensor_type in (T.F32, T.F16):
        return data.astype(np.float32).reshape(shape)
    return dequantize(data.view(np.uint8), t.tensor_type).astype(np.float32).reshape(shape)


def main():
    orig_path, quant_path, out_dir, *names = sys.argv[1:]
    orig = tensors_by_name(GGUFReader(orig_path))
    quant = tensors_by_name(GGUFReader(quant_path))
    report = {}
    for name in names:
        w = deq(orig[name])
        q = quant[name]
        d = deq(q)
        d.tofile(os.path.join(out_dir, name + ".deq.f32"))
        entry = {"type": q.tensor_type.name, "shape": list(d.shape), "rms": float(np.sqrt(np.mean((d - w) ** 2)))}
        for ref in (T.Q4_0, T.Q5_0, T.Q8_0):
            r = dequantize(quantize(w, ref), ref).astype(np.float32).reshape(w.shape)
            entry["rms_" + ref.name] = float(np.sqrt(np.mean((r - w) ** 2)))
        report[name] = entry
    with open(os.path.join(out_dir, "report.json"), "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
