"""Goldens for models/gpt: the PyTorch GPT of /work/shared/anchors/torch_seed_models.py (copied
here so the goldens do not depend on that script), optionally with the head tied to the token
embedding. Each case stores the parameters (p.<name>), token ids (in0), logits (out), the
gradient fed back (gout) and every parameter's gradient (pgrad.<name>), all from float64."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from golden_io import Family


class Block(nn.Module):
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


class GPT(nn.Module):
    def __init__(self, vocab, d, h, layers, ctx, tie):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, d), nn.Embedding(ctx, d)
        self.blocks = nn.Sequential(*[Block(d, h) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.tie = tie
        if not tie:
            self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx_):
        T = idx_.shape[1]
        x = self.tok(idx_) + self.pos(torch.arange(T))
        x = self.ln(self.blocks(x))
        return x @ self.tok.weight.t() if self.tie else self.head(x)


def case(f, name, vocab, d, h, layers, ctx, B, T, tie, seed):
    torch.manual_seed(seed)
    m = GPT(vocab, d, h, layers, ctx, tie)
    with torch.no_grad():  # non-trivial LayerNorm affine parameters and biases
        for n, p in m.named_parameters():
            if n.endswith("bias") or ".ln" in n or n.startswith("ln"):
                p.add_(torch.randn_like(p) * 0.1)
    m = m.double()
    g = torch.Generator().manual_seed(seed + 1)
    ids = torch.randint(vocab, (B, T), generator=g)
    out = m(ids)
    gout = torch.randn(out.shape, generator=g, dtype=torch.float64).float().double()
    out.backward(gout)
    rec = {"in0": ids, "out": out, "gout": gout}
    for n, p in m.named_parameters():
        rec[f"p.{n}"] = p
        rec[f"pgrad.{n}"] = p.grad
    f.add(name, rec, {"vocab_size": vocab, "d_model": d, "n_head": h, "n_layer": layers, "context": ctx,
                      "tie_weights": tie})


def build():
    f = Family("gpt")
    case(f, "small", vocab=13, d=16, h=2, layers=2, ctx=10, B=2, T=7, tie=False, seed=1)
    case(f, "tied_full_context", vocab=11, d=12, h=3, layers=1, ctx=6, B=3, T=6, tie=True, seed=2)
    return f
