"""Goldens for the fused linear ops (ops/linalg.h): linear_relu over GEMM and GEMV paths."""
import torch
import torch.nn.functional as F

from golden_io import Family, randn


def build():
    f = Family("linalg_fused")
    w, b = randn(5, 7, seed=2), randn(5, seed=3)
    # 6 rows take the GEMM path, 1 and 3 rows the matrix-vector path.
    for rows in (6, 3, 1):
        f.op(f"linear_relu_rows{rows}", lambda x, w, b: F.relu(F.linear(x, w, b)), [randn(rows, 7, seed=rows), w, b])
    f.op("linear_relu_nobias", lambda x, w: F.relu(F.linear(x, w)), [randn(4, 7, seed=9), w])
    f.op("linear_rows1", F.linear, [randn(1, 7, seed=10), w, b])
    f.op("linear_relu_3d", lambda x, w, b: F.relu(F.linear(x, w, b)), [randn(2, 3, 7, seed=11), w, b])
    return f
