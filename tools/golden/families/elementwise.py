"""Goldens for ops/elementwise: broadcasting arithmetic, unary math, activations."""
import torch
import torch.nn.functional as F

from golden_io import Family, rand, randn


def build():
    f = Family("elementwise")
    a, b = randn(3, 4, seed=1), randn(3, 4, seed=2)
    row = randn(4, seed=3)
    col = randn(3, 1, seed=4)
    pos = rand(3, 4, seed=5, low=0.5, high=2.0)
    f.op("add", torch.add, [a, b])
    f.op("add_broadcast", torch.add, [a, row])
    f.op("sub_broadcast", torch.sub, [col, a])
    f.op("mul_broadcast", torch.mul, [a, col])
    f.op("div", torch.div, [a, pos])
    f.op("pow", torch.pow, [pos, b])
    f.op("pow_scalar", lambda x: torch.pow(x, 3.0), [a])
    f.op("maximum", torch.maximum, [a, b])
    f.op("minimum", torch.minimum, [a, row])
    f.op("where", lambda x, y: torch.where(x > y, x, y), [a, b])
    f.op("clamp", lambda x: torch.clamp(x, -0.5, 0.7), [a])
    f.op("neg", torch.neg, [a])
    f.op("exp", torch.exp, [a])
    f.op("log", torch.log, [pos])
    f.op("sqrt", torch.sqrt, [pos])
    f.op("rsqrt", torch.rsqrt, [pos])
    f.op("abs", torch.abs, [a])
    f.op("square", torch.square, [a])
    f.op("relu", torch.relu, [a])
    f.op("leaky_relu", lambda x: F.leaky_relu(x, 0.2), [a], {"negative_slope": 0.2})
    f.op("sigmoid", torch.sigmoid, [randn(3, 4, seed=6, scale=4.0)])
    f.op("tanh", torch.tanh, [a])
    f.op("gelu", F.gelu, [randn(3, 4, seed=7, scale=2.0)])
    f.op("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), [randn(3, 4, seed=7, scale=2.0)])
    f.op("silu", F.silu, [randn(3, 4, seed=8, scale=2.0)])
    f.op("comparisons", lambda x, y: torch.stack([(x < y), (x <= y), (x > y), (x >= y), (x == x), (x != y)]).double(),
         [a, b], grad=False)
    return f
