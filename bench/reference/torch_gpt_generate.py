#!/usr/bin/python3
"""The generation loop of bench/bench_gpt_generate.cpp written with PyTorch: same GPT (the
reference architecture of /work/shared/anchors/torch_seed_models.py), same weights (the
safetensors file the C++ bench wrote), KV cache, batch 1, greedy, torch.inference_mode.

  /usr/bin/python3 bench/reference/torch_gpt_generate.py --weights /tmp/forge_gpt_bench.safetensors --threads 2
"""
import argparse
import json
import math
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        assert info["dtype"] == "F32"
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).copy()).view(info["shape"])
    return out


class GPT:
    def __init__(self, w, heads):
        self.w, self.h = w, heads
        self.layers = len({k.split(".")[1] for k in w if k.startswith("blocks.")})
        self.d = w["tok.weight"].shape[1]
        self.head = w["head.weight"] if "head.weight" in w else w["tok.weight"]

    def new_cache(self, cap):
        hd = self.d // self.h
        return [(torch.zeros(self.h, cap, hd), torch.zeros(self.h, cap, hd)) for _ in range(self.layers)], [0]

    def forward(self, ids, cache):
        kv, size = cache
        p0, T, d, H = size[0], len(ids), self.d, self.h
        hd = d // H
        w = self.w
        x = w["tok.weight"][torch.tensor(ids)] + w["pos.weight"][p0:p0 + T]
        for i in range(self.layers):
            b = f"blocks.{i}."
            h = F.layer_norm(x, (d,), w[b + "ln1.weight"], w[b + "ln1.bias"])
            q, k, v = F.linear(h, w[b + "qkv.weight"], w[b + "qkv.bias"]).split(d, dim=1)
            q, k, v = (t.view(T, H, hd).transpose(0, 1) for t in (q, k, v))
            kc, vc = kv[i]
            kc[:, p0:p0 + T] = k
            vc[:, p0:p0 + T] = v
            L = p0 + T
            att = (q @ kc[:, :L].transpose(1, 2)) / math.sqrt(hd)
            if T > 1:
                mask = torch.ones(T, L, dtype=torch.bool).triu(p0 + 1)
                att = att.masked_fill(mask, float("-inf"))
            y = (att.softmax(-1) @ vc[:, :L]).transpose(0, 1).reshape(T, d)
            x = x + F.linear(y, w[b + "proj.weight"], w[b + "proj.bias"])
            h = F.layer_norm(x, (d,), w[b + "ln2.weight"], w[b + "ln2.bias"])
            x = x + F.linear(F.gelu(F.linear(h, w[b + "fc.weight"], w[b + "fc.bias"])), w[b + "fc2.weight"], w[b + "fc2.bias"])
        size[0] = p0 + T
        x = F.layer_norm(x[-1:], (d,), w["ln.weight"], w["ln.bias"])
        return x @ self.head.t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default="/tmp/forge_gpt_bench.safetensors")
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--prompts", default="16,128,512,896")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    m = GPT(load_safetensors(a.weights), a.heads)
    vocab = m.head.shape[0]
    print(f"# PyTorch {torch.__version__} GPT generate, {a.threads} threads, {a.new} new tokens greedy")
    print("prompt_len\tprefill_ms\tdecode_ms_per_token\tdecode_tokens_per_s")
    with torch.inference_mode():
        for p in [int(s) for s in a.prompts.split(",")]:
            prompt = [(i * 7 + 3) % vocab for i in range(p)]
            best_pre, best_dec = 1e9, 1e9
            for _ in range(3):
                cache = m.new_cache(p + a.new)
                t0 = time.perf_counter()
                logits = m.forward(prompt, cache)
                t1 = time.perf_counter()
                for _ in range(a.new):
                    tok = int(logits[0].argmax())
                    logits = m.forward([tok], cache)
                t2 = time.perf_counter()
                best_pre = min(best_pre, (t1 - t0) * 1e3)
                best_dec = min(best_dec, (t2 - t1) * 1e3 / a.new)
            print(f"{p}\t{best_pre:.2f}\t{best_dec:.3f}\t{1000 / best_dec:.1f}", flush=True)


if __name__ == "__main__":
    main()
