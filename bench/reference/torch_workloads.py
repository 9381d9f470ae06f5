"""PyTorch reference rows for bench/compare.py (run with /usr/bin/python3; Debian's torch 1.13).

The models, data and measurement rules are those of ../shared/anchors/torch_seed_models.py
(same epoch loop, same latency loop), plus the rows it lacks: CNN batch-1 latency, peak RSS
during a CNN epoch, tiny-op overhead, SGEMM at several sizes.

Usage: torch_workloads.py WORKLOAD [--threads N] [--samples N] [--seed N] [--json]
Prints one JSON object (the same fields as `forge_bench NAME --json`).

Adding a row: write a function (opts) -> dict(value=, unit=, higher_is_better=, extra=) and add
it to WORKLOADS under the same name as the Forge workload.
"""
import argparse, gzip, json, math, os, struct, subprocess, sys, tempfile, time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_gpt_generate  # noqa: E402  (the generation loop)
import torch_text_models  # noqa: E402  (TextCNN, LSTMClf, safetensors reader)

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


# ---- issue-5 language-model rows (src/bench/lm_workloads.cpp)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FORTUNES = "/usr/share/games/fortunes"


def fortunes_topics():
    """Forge's fortunes split and token ids (examples/textcnn_fortunes [data], seed 0), exported
    by build/bench/bench_text_models into a temporary file (not timed)."""
    exe = os.environ.get("FORGE_BENCH_TEXT_MODELS", os.path.join(ROOT, "build", "bench", "bench_text_models"))
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "fortunes.safetensors")
        subprocess.run([exe, "export", os.path.join(ROOT, "examples", "textcnn_fortunes", "config.toml"), out],
                       check=True, capture_output=True)
        t, _ = torch_text_models.load_safetensors(out)
    return t["x_train"], t["y_train"], t["x_test"], t["y_test"]


def text_train(make):
    def run(o):
        xtr, ytr, xte, yte = fortunes_topics()
        m = make(10000, 43)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        train_epoch(m, opt, nn.CrossEntropyLoss(), xtr, ytr, 32, 320)  # warm-up, as Forge
        sps = train_epoch(m, opt, nn.CrossEntropyLoss(), xtr, ytr, 32, o.samples)
        return row(sps, "samples/s", True, accuracy=accuracy(m, xte, yte))
    return run


class GptBlock(nn.Module):
    """The anchor's GPT block (../shared/anchors/torch_seed_models.py)."""
    def __init__(self, d, h):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.fc2 = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        self.h = h

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.h, C // self.h).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(C // self.h)
        att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C)
        x = x + self.proj(y)
        return x + self.fc2(F.gelu(self.fc(self.ln2(x))))


class Gpt(nn.Module):
    def __init__(self, vocab, d=384, h=6, layers=6, ctx=256):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.Sequential(*[GptBlock(d, h) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(d), nn.Linear(d, vocab, bias=False)

    def forward(self, idx_):
        T = idx_.shape[1]
        x = self.tok(idx_) + self.pos(torch.arange(T))
        return self.head(self.ln(self.blocks(x)))


def gpt_char_train(o, B=8, T=256):
    """The anchor's gpt workload: tokens/s of AdamW(3e-4) steps on random windows of "people"
    after one warm-up step; --samples N = N tokens (whole steps), default 8 steps. The bf16 row
    runs this same fp32 loop: the issue's target compares Forge bf16 with PyTorch's fp32."""
    text = open(f"{FORTUNES}/people", encoding="latin-1").read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([index[c] for c in text])
    steps = max(1, o.samples // (B * T)) if o.samples > 0 else 8
    m = Gpt(len(chars), ctx=T)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-4)

    def step():
        ix = torch.randint(len(data) - T - 1, (B,))
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + T + 1] for i in ix])
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x).view(-1, len(chars)), y.view(-1))
        loss.backward()
        opt.step()
        return loss.item()
    step()
    t0 = time.perf_counter()
    losses = [step() for _ in range(steps)]
    return row(steps * B * T / (time.perf_counter() - t0), "tokens/s", True, loss=sum(losses) / steps, steps=steps)


def gpt_generate(o, prompt_len=128, new=64):
    """bench/reference/torch_gpt_generate.py's loop on a 6 x 384 GPT (vocab 96, context 1024),
    random weights with Forge's names: decode tokens/s after a 128-token prompt, best of 3."""
    d, L, V, C = 384, 6, 96, 1024
    g = torch.Generator().manual_seed(o.seed + 1234)
    w = {"tok.weight": torch.randn(V, d, generator=g) * 0.02, "pos.weight": torch.randn(C, d, generator=g) * 0.02,
         "ln.weight": torch.ones(d), "ln.bias": torch.zeros(d), "head.weight": torch.randn(V, d, generator=g) * 0.02}
    for i in range(L):
        b = f"blocks.{i}."
        for n, (out, inp) in {"qkv": (3 * d, d), "proj": (d, d), "fc": (4 * d, d), "fc2": (d, 4 * d)}.items():
            w[b + n + ".weight"] = torch.randn(out, inp, generator=g) * 0.02
            w[b + n + ".bias"] = torch.zeros(out)
        for n in ("ln1", "ln2"):
            w[b + n + ".weight"], w[b + n + ".bias"] = torch.ones(d), torch.zeros(d)
    m = torch_gpt_generate.GPT(w, 6)
    prompt = [(i * 7 + 3) % V for i in range(prompt_len)]
    best_pre, best_dec = 1e30, 1e30
    with torch.inference_mode():
        for _ in range(3):
            cache = m.new_cache(prompt_len + new)
            t0 = time.perf_counter()
            logits = m.forward(prompt, cache)
            t1 = time.perf_counter()
            for _ in range(new):
                logits = m.forward([int(logits[0].argmax())], cache)
            t2 = time.perf_counter()
            best_pre, best_dec = min(best_pre, t1 - t0), min(best_dec, t2 - t1)
    return row(new / best_dec, "tokens/s", True, prefill_ms=best_pre * 1e3)


WORKLOADS = {
    **{f"sgemm_{n}": sgemm(n) for n in (256, 512, 1024, 2048, 4096)},
    "op_overhead": op_overhead(True),
    "op_overhead_nograd": op_overhead(False),
    "mlp_train": mlp_train,
    "mlp_latency": mlp_latency,
    "cnn_train": cnn_train,
    "cnn_latency": cnn_latency,
    "cnn_peak_rss": cnn_peak_rss,
    "textcnn_train": text_train(torch_text_models.TextCNN),
    "lstm_train": text_train(torch_text_models.LSTMClf),
    "gpt_char_train": gpt_char_train,
    "gpt_char_train_bf16": gpt_char_train,
    "gpt_generate": gpt_generate,
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
