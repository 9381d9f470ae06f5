#!/usr/bin/python3
"""PyTorch reference for the `minilm_embed` row (bench/llm_compare.py), run with /usr/bin/python3
(Debian's torch 1.13; no `transformers` needed).

all-MiniLM-L6-v2 from models/all-minilm-l6-v2/model.safetensors (the same file Forge loads): the
BERT encoder written out in torch the way Hugging Face's eager BertModel computes it (embeddings +
LayerNorm, 6 post-norm layers with an additive attention mask, exact GELU), then mean pooling
and L2 normalization (sentence-transformers' Pooling + Normalize). Batch 32 x 128 tokens with the
same ids as Forge's workload ([CLS] 126 ids [SEP]), torch.inference_mode(), one warm-up batch, then
the mean of 5 per-batch rates (like llama-bench's avg_ts and forge_bench).

Usage: torch_minilm.py [minilm_embed] [--threads N] [--models DIR] [--json]
"""
import argparse, json, math, os, sys, time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BATCH, LEN, REPS = 32, 128, 5


def load_safetensors(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":  # position_ids (I64) is unused
            continue
        b, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:e], dtype=np.float32).copy()).reshape(info["shape"])
    return out


class MiniLM(torch.nn.Module):
    def __init__(self, w, cfg):
        super().__init__()
        pre = "" if "embeddings.word_embeddings.weight" in w else "bert."
        self.w = {k[len(pre):]: v for k, v in w.items() if k.startswith(pre)}
        self.d, self.h = cfg["hidden_size"], cfg["num_attention_heads"]
        self.eps, self.layers = cfg["layer_norm_eps"], cfg["num_hidden_layers"]

    def lin(self, x, n):
        return torch.nn.functional.linear(x, self.w[n + ".weight"], self.w[n + ".bias"])

    def ln(self, x, n):
        return torch.nn.functional.layer_norm(x, (self.d,), self.w[n + ".weight"], self.w[n + ".bias"], self.eps)

    def forward(self, ids, mask):
        B, T = ids.shape
        d, H = self.d, self.h
        hd = d // H
        w = self.w
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:T][None]
        x = self.ln(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
        amask = (1.0 - mask)[:, None, None, :] * torch.finfo(torch.float32).min
        for l in range(self.layers):
            p = f"encoder.layer.{l}."
            q = self.lin(x, p + "attention.self.query").view(B, T, H, hd).transpose(1, 2)
            k = self.lin(x, p + "attention.self.key").view(B, T, H, hd).transpose(1, 2)
            v = self.lin(x, p + "attention.self.value").view(B, T, H, hd).transpose(1, 2)
            att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd) + amask
            o = torch.matmul(att.softmax(-1), v).transpose(1, 2).reshape(B, T, d)
            x = self.ln(x + self.lin(o, p + "attention.output.dense"), p + "attention.output.LayerNorm")
            h = torch.nn.functional.gelu(self.lin(x, p + "intermediate.dense"))
            x = self.ln(x + self.lin(h, p + "output.dense"), p + "output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / mask.sum(1, keepdim=True).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


def batch_ids():
    """The ids of src/bench/llm_workloads.cpp minilm_embed."""
    return torch.tensor([[101] + [1000 + (b * 131 + i * 17) % 20000 for i in range(LEN - 2)] + [102]
                         for b in range(BATCH)], dtype=torch.long)


def minilm_embed(models):
    d = os.path.join(models, "all-minilm-l6-v2")
    cfg = json.load(open(os.path.join(d, "config.json")))
    model = MiniLM(load_safetensors(os.path.join(d, "model.safetensors")), cfg).eval()
    ids = batch_ids()
    mask = torch.ones(ids.shape, dtype=torch.float32)
    rates = []
    with torch.inference_mode():
        model(ids, mask)
        for _ in range(REPS):
            t0 = time.perf_counter()
            out = model(ids, mask)
            rates.append(BATCH / (time.perf_counter() - t0))
    assert out.shape == (BATCH, cfg["hidden_size"])
    return dict(value=sum(rates) / len(rates), unit="embeddings/s", higher_is_better=True, extra={})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("workload", nargs="?", default="minilm_embed", choices=["minilm_embed"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default=os.environ.get("FORGE_MODELS_DIR", os.path.join(ROOT, "models")))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    r = dict(name=a.workload, threads=a.threads, **minilm_embed(a.models))
    print(json.dumps(r) if a.json else f"{a.workload}\t{r['value']:.2f} {r['unit']}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
