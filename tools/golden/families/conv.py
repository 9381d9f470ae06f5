"""Goldens for ops/conv and ops/pool against torch.nn.functional.

Forge's "same" padding follows TensorFlow/Keras (out = ceil(in / stride), the odd padding
element on the end side), which PyTorch has no option for: those cases pad explicitly with
F.pad first. Average pooling excludes padding from the count (Keras); with symmetric padding
that is count_include_pad=False, with asymmetric "same" padding it is computed as
sum-pool(x) / sum-pool(ones). Each case's args say how the C++ test calls Forge.
"""
import torch
import torch.nn.functional as F

from golden_io import Family, randn


def same_pads(size, kernel, stride, dilation=1):
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def conv2d_case(f, name, x_shape, w_shape, bias=True, stride=(1, 1), padding="valid", dilation=(1, 1), groups=1,
                seed=0):
    x = randn(*x_shape, seed=seed)
    w = randn(*w_shape, seed=seed + 1, scale=0.5)
    inputs = [x, w] + ([randn(w_shape[0], seed=seed + 2)] if bias else [])

    def fn(x, w, b=None):
        pad = 0
        if padding == "same":
            top, bottom = same_pads(x.shape[2], w.shape[2], stride[0], dilation[0])
            left, right = same_pads(x.shape[3], w.shape[3], stride[1], dilation[1])
            x = F.pad(x, (left, right, top, bottom))
        elif isinstance(padding, list):
            pad = tuple(padding)
        return F.conv2d(x, w, b, stride=stride, padding=pad, dilation=dilation, groups=groups)

    f.op(name, fn, inputs, {"stride": list(stride), "padding": padding, "dilation": list(dilation), "groups": groups})


def conv1d_case(f, name, x_shape, w_shape, bias=True, stride=1, padding="valid", dilation=1, groups=1, seed=0):
    x = randn(*x_shape, seed=seed)
    w = randn(*w_shape, seed=seed + 1, scale=0.5)
    inputs = [x, w] + ([randn(w_shape[0], seed=seed + 2)] if bias else [])

    def fn(x, w, b=None):
        pad = 0
        if padding == "same":
            x = F.pad(x, same_pads(x.shape[2], w.shape[2], stride, dilation))
        elif isinstance(padding, list):
            pad = padding[0]
        return F.conv1d(x, w, b, stride=stride, padding=pad, dilation=dilation, groups=groups)

    f.op(name, fn, inputs, {"stride": [stride], "padding": padding, "dilation": [dilation], "groups": groups})


def pool2d(x, kind, kernel, stride, padding):
    """Keras-style pooling of [N, C, H, W] in torch."""
    if padding == "same":
        top, bottom = same_pads(x.shape[2], kernel[0], stride[0])
        left, right = same_pads(x.shape[3], kernel[1], stride[1])
        pads = (left, right, top, bottom)
        if kind == "max":
            return F.max_pool2d(F.pad(x, pads, value=float("-inf")), kernel, stride)
        total = F.avg_pool2d(F.pad(x, pads), kernel, stride, divisor_override=1)
        count = F.avg_pool2d(F.pad(torch.ones_like(x), pads), kernel, stride, divisor_override=1)
        return total / count
    pad = tuple(padding) if isinstance(padding, list) else 0
    if kind == "max":
        return F.max_pool2d(x, kernel, stride, padding=pad)
    return F.avg_pool2d(x, kernel, stride, padding=pad, count_include_pad=False)


def pool2d_case(f, name, kind, x_shape, kernel, stride=None, padding="valid", seed=0):
    stride = stride or kernel
    f.op(name, lambda x: pool2d(x, kind, kernel, stride, padding), [randn(*x_shape, seed=seed)],
         {"kind": kind, "kernel": list(kernel), "stride": list(stride), "padding": padding})


def pool1d_case(f, name, kind, x_shape, kernel, stride=None, padding="valid", seed=0):
    stride = stride or kernel
    pad2d = [0, padding[0]] if isinstance(padding, list) else padding
    f.op(name, lambda x: pool2d(x.unsqueeze(2), kind, (1, kernel), (1, stride), pad2d).squeeze(2),
         [randn(*x_shape, seed=seed)], {"kind": kind, "kernel": [kernel], "stride": [stride], "padding": padding})


def build():
    f = Family("conv")
    conv2d_case(f, "conv2d_bias", (2, 3, 7, 6), (4, 3, 3, 3), seed=1)
    conv2d_case(f, "conv2d_stride2_same", (2, 2, 7, 6), (3, 2, 3, 3), stride=(2, 2), padding="same", seed=4)
    conv2d_case(f, "conv2d_stride2_same_even_kernel", (1, 2, 8, 9), (3, 2, 4, 2), bias=False, stride=(2, 3),
                padding="same", seed=7)
    conv2d_case(f, "conv2d_dilation2_explicit", (1, 4, 9, 8), (5, 4, 3, 3), dilation=(2, 2), padding=[2, 1], seed=10)
    conv2d_case(f, "conv2d_groups2", (2, 4, 6, 6), (6, 2, 3, 2), bias=False, stride=(2, 1), groups=2, seed=13)
    conv2d_case(f, "conv2d_same_dilation_groups", (2, 4, 7, 7), (4, 2, 3, 2), stride=(1, 2), padding="same",
                dilation=(2, 1), groups=2, seed=16)
    conv2d_case(f, "conv2d_depthwise", (1, 3, 5, 5), (3, 1, 3, 3), padding=[1, 1], groups=3, seed=19)
    conv1d_case(f, "conv1d_bias", (2, 3, 10), (4, 3, 3), seed=22)
    conv1d_case(f, "conv1d_stride2_same_groups2", (2, 4, 11), (6, 2, 4), stride=2, padding="same", groups=2, seed=25)
    conv1d_case(f, "conv1d_dilation2", (1, 2, 12), (3, 2, 3), bias=False, dilation=2, padding=[1], seed=28)
    conv1d_case(f, "conv1d_same_dilation2", (2, 2, 9), (2, 2, 3), padding="same", dilation=2, seed=31)

    pool2d_case(f, "max_pool2d_valid", "max", (2, 3, 7, 6), (2, 2), seed=40)
    pool2d_case(f, "max_pool2d_same_stride2", "max", (2, 3, 7, 6), (3, 3), (2, 2), "same", seed=41)
    pool2d_case(f, "max_pool2d_explicit", "max", (1, 2, 6, 7), (3, 2), (2, 1), [1, 1], seed=42)
    pool2d_case(f, "avg_pool2d_valid", "avg", (2, 3, 7, 6), (2, 3), (1, 2), seed=43)
    pool2d_case(f, "avg_pool2d_same_stride2", "avg", (2, 3, 7, 6), (3, 3), (2, 2), "same", seed=44)
    pool2d_case(f, "avg_pool2d_same_even", "avg", (1, 2, 5, 5), (2, 2), (1, 1), "same", seed=45)
    pool2d_case(f, "avg_pool2d_explicit", "avg", (1, 2, 6, 7), (3, 3), (2, 2), [1, 1], seed=46)
    pool1d_case(f, "max_pool1d_valid", "max", (2, 3, 9), 2, seed=50)
    pool1d_case(f, "max_pool1d_same", "max", (2, 3, 9), 3, 2, "same", seed=51)
    pool1d_case(f, "avg_pool1d_same", "avg", (2, 3, 9), 4, 3, "same", seed=52)
    pool1d_case(f, "avg_pool1d_explicit", "avg", (2, 3, 9), 3, 2, [1], seed=53)

    x1, x2 = randn(2, 3, 7, seed=60), randn(2, 3, 4, 5, seed=61)
    f.op("global_max_pool1d", lambda x: x.amax(2), [x1])
    f.op("global_avg_pool1d", lambda x: x.mean(2), [x1])
    f.op("global_max_pool2d", lambda x: x.amax((2, 3)), [x2])
    f.op("global_avg_pool2d", lambda x: x.mean((2, 3)), [x2])
    return f
