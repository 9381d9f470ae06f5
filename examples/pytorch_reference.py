"""PyTorch numbers for the examples' READMEs: the same models and settings, on the same data.

Usage: /usr/bin/python3 examples/pytorch_reference.py NAME [--threads 2] [--seed 0]
NAME: mlp_fashion | mlp_fashion_adam | cnn_fashion | cnn_fashion_full | regression_diabetes |
      linreg_synthetic | breast_cancer
The tabular data sets are split 80/20 with a seeded permutation (not the same rows as Forge's
split, which uses Forge's generator), standardized on the training rows only.
"""
import argparse, os, sys, time

import numpy as np
import torch
import torch.nn as nn

SKDATA = "/usr/lib/python3/dist-packages/sklearn/datasets/data"


# The Fashion-MNIST loader of the benchmark reference (one copy for every PyTorch script).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench", "reference"))
from torch_workloads import fmnist  # noqa: E402


def fit(model, opt, lossf, x, y, epochs, bs, log=True):
    n = x.shape[0]
    t0 = time.perf_counter()
    for e in range(epochs):
        model.train()
        perm = torch.randperm(n)
        total, count = 0.0, 0
        for i in range(0, n, bs):
            b = perm[i:i + bs]
            opt.zero_grad(set_to_none=True)
            loss = lossf(model(x[b]), y[b])
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
            count += len(b)
        if log:
            print(f"  epoch {e + 1}/{epochs}: loss {total / count:.4f}  ({time.perf_counter() - t0:.1f} s)", flush=True)
    return time.perf_counter() - t0


@torch.no_grad()
def predict(model, x):
    model.eval()
    return torch.cat([model(x[i:i + 1000]) for i in range(0, x.shape[0], 1000)])


def split_std(x, y, seed, test=0.2):
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(x.shape[0], generator=g)
    nt = int(round(x.shape[0] * test))
    te, tr = perm[:nt], perm[nt:]
    mean, std = x[tr].mean(0), x[tr].std(0, unbiased=False)
    std[std == 0] = 1
    return (x[tr] - mean) / std, y[tr], (x[te] - mean) / std, y[te]


def load_csv(name, skip_header=1):
    a = np.loadtxt(os.path.join(SKDATA, name), delimiter=",", skiprows=skip_header)
    return a


def mlp_fashion(opt_name):
    xtr, ytr, xte, yte = fmnist()
    m = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.SGD(m.parameters(), lr=0.01) if opt_name == "sgd" else torch.optim.Adam(m.parameters(), lr=1e-3)
    secs = fit(m, opt, nn.CrossEntropyLoss(), xtr, ytr, 10, 64)
    acc = (predict(m, xte).argmax(1) == yte).float().mean().item()
    print(f"RESULT test accuracy {acc:.4f}  train time {secs:.1f} s")


def cnn_fashion(train_subset, epochs):
    xtr, ytr, xte, yte = fmnist()
    xtr, xte = xtr.view(-1, 1, 28, 28), xte.view(-1, 1, 28, 28)
    if train_subset:
        xtr, ytr = xtr[:train_subset], ytr[:train_subset]
    # Forge holds out 10% for validation; train on the other 90% (a seeded random part).
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(xtr.shape[0], generator=g)
    keep = perm[: int(round(xtr.shape[0] * 0.9))]
    xtr, ytr = xtr[keep], ytr[keep]
    m = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(64 * 3 * 3, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    secs = fit(m, opt, nn.CrossEntropyLoss(), xtr, ytr, epochs, 64)
    acc = (predict(m, xte).argmax(1) == yte).float().mean().item()
    print(f"RESULT test accuracy {acc:.4f}  train images {xtr.shape[0]}  epochs {epochs}  train time {secs:.1f} s")


def regression_diabetes(seed):
    x = torch.tensor(np.loadtxt(os.path.join(SKDATA, "diabetes_data_raw.csv.gz")), dtype=torch.float32)
    y = torch.tensor(np.loadtxt(os.path.join(SKDATA, "diabetes_target.csv.gz")), dtype=torch.float32)
    xtr, ytr, xte, yte = split_std(x, y, seed)
    # least-squares baseline
    a = torch.cat([xtr, torch.ones(xtr.shape[0], 1)], 1).double()
    w = torch.linalg.lstsq(a, ytr.double().unsqueeze(1)).solution
    pl = (torch.cat([xte, torch.ones(xte.shape[0], 1)], 1).double() @ w).squeeze(1)
    print(f"RESULT linear least squares: test MSE {((pl - yte) ** 2).mean().item():.1f}  MAE {(pl - yte).abs().mean().item():.2f}")
    m = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    fit(m, opt, nn.MSELoss(), xtr, ytr.unsqueeze(1), 100, 32, log=False)
    p = predict(m, xte).squeeze(1)
    print(f"RESULT MLP: test MSE {((p - yte) ** 2).mean().item():.1f}  MAE {(p - yte).abs().mean().item():.2f}")


def linreg_synthetic(seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(1000, 1, generator=g) * 4 - 2
    y = 2 * x + 1 + 0.1 * torch.randn(1000, 1, generator=g)
    m = nn.Linear(1, 1)
    opt = torch.optim.SGD(m.parameters(), lr=0.05)
    fit(m, opt, nn.MSELoss(), x[:800], y[:800], 20, 32, log=False)
    print(f"RESULT w {m.weight.item():.4f}  b {m.bias.item():.4f}")


def breast_cancer(seed):
    a = load_csv("breast_cancer.csv")
    x = torch.tensor(a[:, :30], dtype=torch.float32)
    y = torch.tensor(a[:, 30], dtype=torch.float32)
    xtr, ytr, xte, yte = split_std(x, y, seed)
    m = nn.Sequential(nn.Linear(30, 16), nn.ReLU(), nn.Linear(16, 1), nn.Sigmoid())
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    fit(m, opt, nn.BCELoss(), xtr, ytr.unsqueeze(1), 30, 32, log=False)
    p = predict(m, xte).squeeze(1)
    pred = (p > 0.5).float()
    tp = ((pred == 1) & (yte == 1)).sum().item(); fp = ((pred == 1) & (yte == 0)).sum().item()
    fn = ((pred == 0) & (yte == 1)).sum().item()
    prec, rec = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    f1 = 2 * tp / max(2 * tp + fp + fn, 1)
    pos, neg = p[yte == 1], p[yte == 0]
    auc = ((pos.unsqueeze(1) > neg.unsqueeze(0)).float().mean() + 0.5 * (pos.unsqueeze(1) == neg.unsqueeze(0)).float().mean()).item()
    acc = (pred == yte).float().mean().item()
    print(f"RESULT accuracy {acc:.4f}  precision {prec:.4f}  recall {rec:.4f}  f1 {f1:.4f}  auc {auc:.4f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    {
        "mlp_fashion": lambda: mlp_fashion("sgd"),
        "mlp_fashion_adam": lambda: mlp_fashion("adam"),
        "cnn_fashion": lambda: cnn_fashion(0, 10),
        "cnn_fashion_full": lambda: cnn_fashion(0, 10),
        "regression_diabetes": lambda: regression_diabetes(args.seed),
        "linreg_synthetic": lambda: linreg_synthetic(args.seed),
        "breast_cancer": lambda: breast_cancer(args.seed),
    }[args.name]()
