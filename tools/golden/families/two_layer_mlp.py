"""Goldens for models/two_layer_mlp: softmax cross-entropy and the whole two-layer network."""
import torch
import torch.nn.functional as F

from golden_io import Family, randn


def mlp_loss(x, w1, b1, w2, b2, labels):
    return F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), labels)


def build():
    f = Family("two_layer_mlp")
    labels = torch.tensor([0, 3, 4, 1, 3, 2], dtype=torch.int64)
    f.op("cross_entropy", lambda z, y: F.cross_entropy(z, y), [randn(6, 5, seed=31, scale=3.0), labels])
    # 20 -> 16 ReLU -> 5 on a batch of 6; inputs and gradients of all five float inputs.
    f.op("mlp", mlp_loss,
         [randn(6, 20, seed=32), randn(16, 20, seed=33, scale=0.3), randn(16, seed=34, scale=0.3),
          randn(5, 16, seed=35, scale=0.3), randn(5, seed=36, scale=0.3), labels])
    return f
