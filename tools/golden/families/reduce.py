"""Goldens for ops/reduce, ops/linalg and ops/view."""
import torch

from golden_io import Family, randn


def build():
    f = Family("reduce")
    x = randn(2, 3, 4, seed=11)
    f.op("sum_all", lambda t: t.sum(), [x])
    f.op("sum_axis1_keep", lambda t: t.sum(1, keepdim=True), [x])
    f.op("sum_axes02", lambda t: t.sum((0, 2)), [x])
    f.op("mean_last", lambda t: t.mean(-1), [x])
    f.op("max_axis1", lambda t: t.amax(1), [x])
    f.op("min_all", lambda t: t.amin(), [x])
    f.op("var_axis2", lambda t: t.var(2), [x])
    f.op("var_all_biased", lambda t: t.var(unbiased=False), [x])
    f.op("logsumexp_last", lambda t: torch.logsumexp(t, -1), [randn(2, 3, 4, seed=12, scale=10.0)])
    f.op("argmax_axis1", lambda t: t.argmax(1), [x], grad=False)
    f.op("matmul_2d", torch.matmul, [randn(5, 3, seed=13), randn(3, 4, seed=14)])
    f.op("matmul_batched_broadcast", torch.matmul, [randn(2, 1, 5, 3, seed=15), randn(3, 3, 2, seed=16)])
    f.op("matmul_vec", torch.matmul, [randn(4, 3, seed=17), randn(3, seed=18)])
    f.op("matmul_transposed", lambda a, b: a.t() @ b, [randn(3, 5, seed=19), randn(3, 4, seed=20)])
    f.op("linear", lambda x, w, b: torch.nn.functional.linear(x, w, b),
         [randn(2, 3, 4, seed=21), randn(5, 4, seed=22), randn(5, seed=23)])
    f.op("permute_slice", lambda t: t.permute(2, 0, 1)[1:4:2] * 2.0, [x])
    f.op("expand_reshape", lambda t: t[:, :1].expand(2, 3, 4).reshape(6, 4) * torch.arange(4.0, dtype=t.dtype), [x])
    return f
