"""PyTorch reference rows for bench/compare.py (run with /usr/bin/python3; Debian's torch 1.13).

The models, data and measurement rules are those of ../shared/anchors/torch_seed_models.py
(same epoch loop, same latency loop), plus the rows it lacks: CNN batch-1 latency, peak RSS
during a CNN epoch, tiny-op overhead, SGEMM at several sizes.

Usage: torch_workloads.py WORKLOAD [--threads N] [--samples N] [--seed N] [--json]
Prints one JSON object (the same fields as `forge_bench NAME --json`).

Adding a row: write a function (opts) -> dict(value=, unit=, higher_is_better=, extra=) and add
it to WORKLOADS under the same name as the Forge workload.
"""
import argparse, gzip, json, struct, sys, time

import torch
import torch.nn as nn

FMNIST = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2051:
        r, c = struct.unpack(">II", data[8:16])
        return torch.frombuffer(bytearray(data[16:]), dtype=torch.uint8).view(n, r * c)
    return torch.frombuffer(bytearray(data[8:]), dtype=torch.uint8).long()


def fmnist():
    xtr = idx(f"{FMNIST}/train-images-idx3-ubyte.gz").float() / 255.0
    ytr = idx(f"{FMNIST}/train-labels-idx1-ubyte.gz")
    xte = idx(f"{FMNIST}/t10k-images-idx3-ubyte.gz").float() / 255.0
    yte = idx(f"{FMNIST}/t10k-labels-idx1-ubyte.gz")
    return xtr, ytr, xte, yte


def train_epoch(model, opt, lossf, x, y, bs, samples=0):
    """The anchor's loop; trains on the first `samples` of the permutation when > 0."""
    model.train()
    n = x.shape[0]
    limit = min(samples, n) if samples > 0 else n
    perm = torch.randperm(n)
    t0 = time.perf_counter()
    for i in range(0, limit - bs + 1, bs):
        idx_ = perm[i:i + bs]
        opt.zero_grad(set_to_none=True)
        loss = lossf(model(x[idx_]), y[idx_])
        loss.backward()
        opt.step()
    return (limit // bs * bs) / (time.perf_counter() - t0)


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    out = torch.cat([model(x[i:i + 1000]) for i in range(0, x.shape[0], 1000)])
    return (out.argmax(1) == y).float().mean().item()


def make_mlp():
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))


def make_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(64 * 3 * 3, 64), nn.ReLU(), nn.Linear(64, 10))


def row(value, unit, higher, **extra):
    return dict(value=value, unit=unit, higher_is_better=higher, extra=extra)


def mlp_train(o):
    xtr, ytr, xte, yte = fmnist()
    m = make_mlp()
    opt = torch.optim.SGD(m.parameters(), lr=0.01)
    sps = train_epoch(m, opt, nn.CrossEntropyLoss(), xtr, ytr, 64, o.samples)
    return row(sps, "samples/s", True, accuracy=accuracy(m, xte, yte))


def cnn_epoch(o):
    xtr, ytr, xte, yte = fmnist()
    xtr, xte = xtr.view(-1, 1, 28, 28), xte.view(-1, 1, 28, 28)
    m = make_cnn()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    return m, opt, xtr, ytr, xte, yte


def cnn_train(o):
    m, opt, xtr, ytr, xte, yte = cnn_epoch(o)
    sps = train_epoch(m, opt, nn.CrossEntropyLoss(), xtr, ytr, 64, o.samples)
    return row(sps, "samples/s", True, accuracy=accuracy(m, xte, yte))


def status_kib(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return -1


def cnn_peak_rss(o):
    m, opt, xtr, ytr, xte, yte = cnn_epoch(o)
    before = status_kib("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # restart VmHWM from the current RSS
        f.write("5")
    sps = train_epoch(m, opt, nn.CrossEntropyLoss(), xtr, ytr, 64, o.samples)
    peak = status_kib("VmHWM")
    return row(peak / 1024, "MiB", False, epoch_growth_mib=(peak - before) / 1024, samples_per_s=sps)


def latency_us(m, x, warmup, n):
    with torch.no_grad():
        for _ in range(warmup):
            m(x)
        t0 = time.perf_counter()
        for _ in range(n):
            m(x)
    return (time.perf_counter() - t0) / n * 1e6


def mlp_latency(o):
    return row(latency_us(make_mlp().eval(), torch.rand(1, 784), 100, 2000), "us", False)


def cnn_latency(o):
    return row(latency_us(make_cnn().eval(), torch.rand(1, 1, 28, 28), 50, 2000), "us", False)


def sgemm(n):
    def run(o):
        a, b = torch.rand(n, n), torch.rand(n, n)
        reps = max(3, int(0.3 * 200e9 / (2 * n ** 3)))
        a @ b
        best = 1e30
        for _ in range(3):
            t0 = time.perf_counter()
            for _ in range(reps):
                a @ b
            best = min(best, time.perf_counter() - t0)
        return row(2 * n ** 3 * reps / best / 1e9, "GFLOP/s", True)
    return run


def op_overhead(with_grad):
    def run(o):
        a, b = torch.rand(4, requires_grad=with_grad), torch.rand(4, requires_grad=with_grad)
        n = 200000
        for _ in range(n // 100):
            a + b
        t0 = time.perf_counter()
        for _ in range(n):
            a + b
        return row((time.perf_counter() - t0) / n * 1e9, "ns", False)
    return run


WORKLOADS = {
    **{f"sgemm_{n}": sgemm(n) for n in (256, 512, 1024, 2048, 4096)},
    "op_overhead": op_overhead(True),
    "op_overhead_nograd": op_overhead(False),
    "mlp_train": mlp_train,
    "mlp_latency": mlp_latency,
    "cnn_train": cnn_train,
    "cnn_latency": cnn_latency,
    "cnn_peak_rss": cnn_peak_rss,
}

if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", nargs="?")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--samples", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list or not a.workload:
        print("\n".join(WORKLOADS))
        sys.exit(0)
    if a.workload not in WORKLOADS:
        sys.exit(f"unknown workload {a.workload}; known: {', '.join(WORKLOADS)}")
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    r = WORKLOADS[a.workload](a)
    r.update(name=a.workload, threads=a.threads, samples=a.samples)
    print(json.dumps(r) if a.json else f"{a.workload}\t{r['value']:.2f} {r['unit']}\t{r['extra']}", flush=True)
