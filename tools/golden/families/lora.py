"""Goldens for models/llama_train's lora_linear: y = x W^T + scale * (x A^T) B^T (PEFT's LoRA
forward without dropout), with gradients for x, W, A and B."""
import torch.nn.functional as F

from golden_io import Family, randn


def lora_linear(scale):
    return lambda x, w, a, b: F.linear(x, w) + scale * F.linear(F.linear(x, a), b)


def build():
    f = Family("lora")
    f.op("linear_2d", lora_linear(2.0), [randn(4, 6, seed=1), randn(5, 6, seed=2), randn(3, 6, seed=3, scale=0.4),
                                         randn(5, 3, seed=4, scale=0.4)], {"scale": 2.0})
    f.op("linear_3d", lora_linear(0.5), [randn(2, 3, 8, seed=5), randn(7, 8, seed=6), randn(2, 8, seed=7),
                                         randn(7, 2, seed=8)], {"scale": 0.5})
    return f
