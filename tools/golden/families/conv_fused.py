"""Goldens for the fused convolution fast paths (ops/conv.h conv2d_relu / conv1d_relu) and the
2x2 / stride-2 max-pool kernel, against torch.nn.functional (relu(conv) composed in torch).
The 2x2 pool cases use the seed CNN's shapes (26x26 -> 13x13, 11x11 -> 5x5, an odd edge dropped).
"""
import torch.nn.functional as F

from golden_io import Family, randn


def build():
    f = Family("conv_fused")
    # conv2d_relu: the seed CNN's layer shapes (small batch), with and without bias, padding, groups.
    for name, xs, ws, bias, pad, groups in [
        ("conv2d_relu_first", (2, 1, 8, 8), (4, 1, 3, 3), True, 0, 1),
        ("conv2d_relu_deep", (2, 6, 7, 7), (8, 6, 3, 3), True, 1, 1),
        ("conv2d_relu_nobias_groups", (2, 4, 6, 5), (6, 2, 3, 3), False, 0, 2),
    ]:
        x = randn(*xs, seed=1)
        w = randn(*ws, seed=2, scale=0.5)
        inputs = [x, w] + ([randn(ws[0], seed=3)] if bias else [])
        f.op(name, lambda x, w, b=None, pad=pad, groups=groups: F.relu(F.conv2d(x, w, b, padding=pad, groups=groups)),
             inputs, {"padding": pad, "groups": groups})
    x = randn(3, 4, 12, seed=4)
    w = randn(5, 4, 3, seed=5, scale=0.5)
    f.op("conv1d_relu", lambda x, w, b: F.relu(F.conv1d(x, w, b)), [x, w, randn(5, seed=6)], {"padding": 0, "groups": 1})
    # max pool 2x2 / stride 2 on the fast path.
    f.op("max_pool2x2_even", lambda x: F.max_pool2d(x, 2), [randn(2, 3, 26, 26, seed=7)])
    f.op("max_pool2x2_odd", lambda x: F.max_pool2d(x, 2), [randn(2, 3, 11, 11, seed=8)])
    return f
