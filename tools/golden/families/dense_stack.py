"""Goldens for the Dense-stack inference fast path (nn/dense_stack.h): whole MLPs on 1 to 4 rows.

Each case stores the input (in0), the layers' weights and biases (w0, b0, w1, ...) and the
network's output (out); args list the activations. No gradients: the path runs under no-grad.
"""
import torch

from golden_io import Family, randn

ACTS = {
    "linear": lambda z: z,
    "relu": torch.relu,
    "softmax": lambda z: torch.softmax(z, dim=-1),
    "sigmoid": torch.sigmoid,
}


def mlp_case(f, case, in_shape, widths, acts, seed, bias=True):
    x = randn(*in_shape, seed=seed)
    tensors = {"in0": x}
    h = x.to(torch.float64)
    features = in_shape[-1]
    for i, (units, act) in enumerate(zip(widths, acts)):
        w = randn(units, features, seed=seed + 10 * i + 1, scale=features ** -0.5)
        tensors[f"w{i}"] = w
        h = h @ w.to(torch.float64).t()
        if bias:
            b = randn(units, seed=seed + 10 * i + 2, scale=0.1)
            tensors[f"b{i}"] = b
            h = h + b.to(torch.float64)
        h = ACTS[act](h)
        features = units
    tensors["out"] = h
    f.add(case, tensors, {"acts": acts, "bias": bias})


def build():
    f = Family("dense_stack")
    # A Fashion-MNIST-sized input row (784 = 12 x 64 + 16 floats) on one sample.
    mlp_case(f, "mlp_784_24_10", (1, 784), [24, 10], ["relu", "linear"], seed=1)
    # Widths around the 16-float vector and 64-float unroll boundaries; several rows; softmax last.
    mlp_case(f, "widths_rows3", (3, 17), [63, 65, 16], ["relu", "relu", "softmax"], seed=2)
    mlp_case(f, "rows4_no_bias", (4, 100), [33, 5], ["linear", "sigmoid"], seed=3, bias=False)
    mlp_case(f, "one_d_input", (50,), [1, 7], ["relu", "relu"], seed=4)
    return f
