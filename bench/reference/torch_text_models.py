#!/usr/bin/env python3
"""PyTorch reference for examples/textcnn_fortunes and examples/lstm_fortunes (issue 5).

Same split and token ids as Forge: the data comes from
    build/bench_text_models export examples/textcnn_fortunes/config.toml fortunes_multi.safetensors
    build/bench_text_models export examples/lstm_fortunes/binary.toml fortunes_binary.safetensors
(Keras Tokenizer fitted on the train split, num_words 10000, maxlen 100, pre padding, seed 0).
Models follow /work/shared/anchors/torch_seed_models.py (textcnn / lstm); Adam lr 1e-3, batch 32,
softmax/categorical cross-entropy (binary: sigmoid + BCE), evaluation on the test split after the
epoch with the best validation accuracy's weights are NOT restored (as forge train: last epoch).

    /usr/bin/python3 bench/reference/torch_text_models.py textcnn DATA.safetensors [--epochs 10] [--threads 1]
    /usr/bin/python3 bench/reference/torch_text_models.py lstm|lstm_binary DATA.safetensors ...
Prints test accuracy, macro-F1, the majority-class baseline and training samples/s per epoch.
"""
import argparse, json, struct, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"I64": np.int64, "F32": np.float32}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(body[a:b], dtype=dt).reshape(v["shape"]).copy())
    return out, header.get("__metadata__", {})


class TextCNN(nn.Module):
    def __init__(self, vocab, classes):
        super().__init__()
        self.emb = nn.Embedding(vocab, 16)
        self.c1 = nn.Conv1d(16, 32, 7)
        self.c2 = nn.Conv1d(32, 64, 7)
        self.d1 = nn.Linear(64, 64)
        self.d2 = nn.Linear(64, classes)

    def forward(self, x):
        h = self.emb(x).transpose(1, 2)
        h = F.max_pool1d(F.relu(self.c1(h)), 7)
        h = F.relu(self.c2(h)).amax(dim=2)
        return self.d2(F.relu(self.d1(h)))


class LSTMClf(nn.Module):
    def __init__(self, vocab, classes):
        super().__init__()
        self.emb = nn.Embedding(vocab, 32)
        self.lstm = nn.LSTM(32, 32, batch_first=True)
        self.out = nn.Linear(32, classes)

    def forward(self, x):
        _, (h, _) = self.lstm(self.emb(x))
        return self.out(h[-1])


def macro_f1(pred, y, k):
    f1s = []
    for c in range(k):
        tp = ((pred == c) & (y == c)).sum().item()
        fp = ((pred == c) & (y != c)).sum().item()
        fn = ((pred != c) & (y == c)).sum().item()
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return sum(f1s) / len(f1s)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["textcnn", "lstm", "lstm_binary"])
    ap.add_argument("data")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    d, meta = load_safetensors(a.data)
    k = len(meta["labels"].split("\n"))
    xtr, ytr, xte, yte = d["x_train"], d["y_train"], d["x_test"], d["y_test"]
    binary = a.model == "lstm_binary"
    m = TextCNN(10000, k) if a.model == "textcnn" else LSTMClf(10000, 1 if binary else k)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    lossf = nn.BCEWithLogitsLoss() if binary else nn.CrossEntropyLoss()
    bs = 32
    rates = []
    for e in range(a.epochs):
        m.train()
        perm = torch.randperm(xtr.shape[0])
        t0 = time.perf_counter()
        for i in range(0, xtr.shape[0], bs):
            idx = perm[i:i + bs]
            opt.zero_grad(set_to_none=True)
            out = m(xtr[idx])
            loss = lossf(out.squeeze(1), ytr[idx].float()) if binary else lossf(out, ytr[idx])
            loss.backward()
            opt.step()
        rates.append(xtr.shape[0] / (time.perf_counter() - t0))
        print(f"epoch {e + 1}: {rates[-1]:.0f} samples/s, loss {loss.item():.4f}", flush=True)
    m.eval()
    with torch.no_grad():
        out = m(xte)
        pred = (out.squeeze(1) > 0).long() if binary else out.argmax(1)
    acc = (pred == yte).float().mean().item()
    nk = 2 if binary else k
    majority = torch.bincount(ytr, minlength=nk).argmax().item()
    base = (yte == majority).float().mean().item()
    res = {"model": a.model, "test_accuracy": round(acc, 4), "macro_f1": round(macro_f1(pred, yte, nk), 4),
           "majority_baseline_accuracy": round(base, 4),
           "majority_baseline_macro_f1": round(macro_f1(torch.full_like(yte, majority), yte, nk), 4),
           "samples_per_s_best": round(max(rates[1:] or rates)), "threads": a.threads, "epochs": a.epochs,
           "torch": torch.__version__}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
