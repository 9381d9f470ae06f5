"""PyTorch side of bench_cnn: the seed CNN (torch_seed_models.py's cnn) on Fashion-MNIST.

Prints one JSON line with the same keys as `bench_cnn --json`: training samples/s over one
epoch of batch-64 Adam steps, batch-1 predict latency (median/p90, eval mode, no_grad) and
the process's peak resident memory.

Usage: /usr/bin/python3 bench/torch_cnn.py [--threads 1] [--samples 60000] [--reps 2000] [--only train|latency]
"""
import argparse, gzip, json, resource, struct, time

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--samples", type=int, default=60000)
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    xtr = (idx(f"{FMNIST}/train-images-idx3-ubyte.gz").float() / 255.0).view(-1, 1, 28, 28)[: a.samples]
    ytr = idx(f"{FMNIST}/train-labels-idx1-ubyte.gz")[: a.samples]
    xte = (idx(f"{FMNIST}/t10k-images-idx3-ubyte.gz").float() / 255.0).view(-1, 1, 28, 28)
    yte = idx(f"{FMNIST}/t10k-labels-idx1-ubyte.gz")
    m = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(64 * 3 * 3, 64), nn.ReLU(), nn.Linear(64, 10))
    res = {"workload": "cnn", "system": "pytorch", "threads": a.threads, "samples": xtr.shape[0]}
    if a.only in ("", "train"):
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        lossf = nn.CrossEntropyLoss()
        m.train()
        n, bs = xtr.shape[0], 64
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        c0 = time.process_time()
        for i in range(0, n, bs):
            j = perm[i:i + bs]
            opt.zero_grad(set_to_none=True)
            loss = lossf(m(xtr[j]), ytr[j])
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        res["train_samples_per_s"] = n / dt
        res["train_cpu_samples_per_s"] = n / (time.process_time() - c0)
        res["train_peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        res["train_s"] = dt
        with torch.no_grad():
            m.eval()
            out = torch.cat([m(xte[i:i + 1000]) for i in range(0, xte.shape[0], 1000)])
            res["test_accuracy"] = (out.argmax(1) == yte).float().mean().item()
    if a.only in ("", "latency"):
        m.eval()
        us = []
        with torch.no_grad():
            for r in range(a.reps + 50):
                one = xte[r % 10000:r % 10000 + 1]
                t0 = time.perf_counter()
                m(one)
                if r >= 50:
                    us.append((time.perf_counter() - t0) * 1e6)
        us.sort()
        res["predict1_median_us"] = us[len(us) // 2]
        res["predict1_p90_us"] = us[len(us) * 9 // 10]
    res["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(res))


if __name__ == "__main__":
    main()
