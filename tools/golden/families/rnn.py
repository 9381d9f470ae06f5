"""Goldens for ops/rnn and ops/attention: torch.nn.LSTM / GRU / LSTMCell / GRUCell with
copied weights, a hand-written scaled dot-product attention (torch 1.13 has no
F.scaled_dot_product_attention) and torch.nn.MultiheadAttention(batch_first=True).

Roles follow golden_io.Family: in0.. inputs, out.. outputs, gout.. output gradients, grad..
input gradients (inputs include the weights, so every weight gradient is checked).
"""
import math

import torch

from golden_io import Family, randn


def leaves(tensors):
    return [t.to(torch.float64).requires_grad_(True) for t in tensors]


def record(f, case, inputs, leaf_grads, outputs, seed, args=None):
    """Stores inputs, outputs, random output gradients and the resulting input gradients.
    leaf_grads() is called after backward and returns one gradient per input."""
    gen = torch.Generator().manual_seed(seed + 1000)
    tensors = {f"in{i}": x for i, x in enumerate(inputs)}
    gouts = []
    for i, o in enumerate(outputs):
        suffix = "" if i == 0 else str(i)
        g = torch.randn(o.shape, generator=gen, dtype=torch.float64).to(torch.float32).to(torch.float64)
        tensors[f"out{suffix}"] = o
        tensors[f"gout{suffix}"] = g
        gouts.append(g)
    torch.autograd.backward(list(outputs), gouts)
    for i, g in enumerate(leaf_grads()):
        if g is not None:
            tensors[f"grad{i}"] = g
    f.add(case, tensors, args)


def set_params(module, values):
    with torch.no_grad():
        for name, value in values.items():
            getattr(module, name).copy_(value.to(torch.float64))


def rnn_weights(gates, inp, hidden, seed, bias=True):
    scale = 1.0 / math.sqrt(hidden)
    w = [randn(gates * hidden, inp, seed=seed, scale=scale), randn(gates * hidden, hidden, seed=seed + 1, scale=scale)]
    if bias:
        w += [randn(gates * hidden, seed=seed + 2, scale=scale), randn(gates * hidden, seed=seed + 3, scale=scale)]
    return w


def layer_case(f, case, kind, batch, time, inp, hidden, seed, bias=True, initial=True):
    gates = 4 if kind == "lstm" else 3
    x = randn(batch, time, inp, seed=seed)
    weights = rnn_weights(gates, inp, hidden, seed + 10, bias)
    states = [randn(batch, hidden, seed=seed + 20 + i) for i in range(2 if kind == "lstm" else 1)] if initial else []
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    m = cls(inp, hidden, batch_first=True, bias=bias).double()
    names = ["weight_ih_l0", "weight_hh_l0"] + (["bias_ih_l0", "bias_hh_l0"] if bias else [])
    set_params(m, dict(zip(names, weights)))
    x64 = leaves([x])[0]
    s64 = leaves(states)
    init = None
    if initial:
        init = tuple(s[None] for s in s64) if kind == "lstm" else s64[0][None]
    seq, final = m(x64, init)
    outputs = [seq, final[0][0], final[1][0]] if kind == "lstm" else [seq, final[0]]
    params = [getattr(m, n) for n in names]
    record(f, case, [x] + weights + states, lambda: [x64.grad] + [p.grad for p in params] + [s.grad for s in s64],
           outputs, seed, {"bias": bias, "initial": initial})


def cell_case(f, case, kind, batch, inp, hidden, seed):
    gates = 4 if kind == "lstm" else 3
    x = randn(batch, inp, seed=seed)
    weights = rnn_weights(gates, inp, hidden, seed + 10)
    states = [randn(batch, hidden, seed=seed + 20 + i) for i in range(2 if kind == "lstm" else 1)]
    cls = torch.nn.LSTMCell if kind == "lstm" else torch.nn.GRUCell
    m = cls(inp, hidden).double()
    names = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    set_params(m, dict(zip(names, weights)))
    x64 = leaves([x])[0]
    s64 = leaves(states)
    out = m(x64, tuple(s64) if kind == "lstm" else s64[0])
    outputs = list(out) if kind == "lstm" else [out]
    params = [getattr(m, n) for n in names]
    record(f, case, [x] + weights + states, lambda: [x64.grad] + [p.grad for p in params] + [s.grad for s in s64],
           outputs, seed)


def causal_mask(tq, tk):
    """Additive mask: query i sees keys j <= i + (tk - tq) (aligned to the end of the keys)."""
    i = torch.arange(tq)[:, None]
    j = torch.arange(tk)[None, :]
    return torch.where(j > i + (tk - tq), float("-inf"), 0.0).to(torch.float64)


def attention(q, k, v, mask=None, causal=False, scale=None):
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ k.transpose(-2, -1) * scale
    if mask is not None:
        s = s + mask
    if causal:
        s = s + causal_mask(q.shape[-2], k.shape[-2])
    return torch.softmax(s, dim=-1) @ v


def mha_case(f, case, batch, tq, tk, embed, heads, seed, mask=None, causal=False):
    query, key, value = randn(batch, tq, embed, seed=seed), randn(batch, tk, embed, seed=seed + 1), randn(
        batch, tk, embed, seed=seed + 2)
    scale = 1.0 / math.sqrt(embed)
    ws = [randn(embed, embed, seed=seed + 10 + 2 * i, scale=scale) for i in range(4)]
    bs = [randn(embed, seed=seed + 11 + 2 * i, scale=scale) for i in range(4)]
    m = torch.nn.MultiheadAttention(embed, heads, batch_first=True).double()
    set_params(m, {"in_proj_weight": torch.cat(ws[:3]), "in_proj_bias": torch.cat(bs[:3])})
    set_params(m.out_proj, {"weight": ws[3], "bias": bs[3]})
    x64 = leaves([query, key, value])
    attn_mask = None
    if mask is not None:
        attn_mask = mask.to(torch.float64)
    if causal:
        cm = causal_mask(tq, tk)
        attn_mask = cm if attn_mask is None else attn_mask + cm
    out, _ = m(*x64, attn_mask=attn_mask, need_weights=False)

    def grads():
        gw, gb = m.in_proj_weight.grad.split(embed), m.in_proj_bias.grad.split(embed)
        # inputs: query, key, value, q_w, q_b, k_w, k_b, v_w, v_b, out_w, out_b. The k bias adds
        # q.b_k to every key's score of a query, which softmax cancels: its gradient is exactly 0
        # and torch's ~1e-16 rounding noise is no reference (the C++ test checks it is ~0).
        return [x.grad for x in x64] + [gw[0], gb[0], gw[1], None, gw[2], gb[2], m.out_proj.weight.grad,
                                        m.out_proj.bias.grad]

    inputs = [query, key, value, ws[0], bs[0], ws[1], bs[1], ws[2], bs[2], ws[3], bs[3]]
    tensors_in = inputs + ([mask] if mask is not None else [])
    record(f, case, tensors_in, grads, [out], seed, {"heads": heads, "causal": causal})


def build():
    f = Family("rnn")
    layer_case(f, "lstm", "lstm", 2, 4, 3, 5, seed=1)
    layer_case(f, "lstm_zero_state", "lstm", 3, 3, 4, 2, seed=2, initial=False)
    layer_case(f, "gru", "gru", 2, 4, 3, 5, seed=3)
    layer_case(f, "gru_no_bias_zero_state", "gru", 2, 3, 4, 3, seed=4, bias=False, initial=False)
    cell_case(f, "lstm_cell", "lstm", 3, 4, 5, seed=5)
    cell_case(f, "gru_cell", "gru", 3, 4, 5, seed=6)

    q, k, v = randn(2, 3, 4, 8, seed=7), randn(2, 3, 6, 8, seed=8), randn(2, 3, 6, 5, seed=9)
    f.op("sdpa", attention, [q, k, v])
    f.op("sdpa_causal", lambda q, k, v: attention(q, k, v, causal=True), [q, k, v])
    f.op("sdpa_scale", lambda q, k, v: attention(q, k, v, scale=0.2), [q, k, v], {"scale": 0.2})
    # Additive [B, 1, Tq, Tk] mask (broadcast over heads): key padding plus a soft bias. Its
    # gradient is compared too (the mask is an input like any other).
    mask = randn(2, 1, 4, 6, seed=10, scale=0.5)
    mask[0, :, :, 4:] = float("-inf")
    f.op("sdpa_mask", lambda q, k, v, m: attention(q, k, v, mask=m), [q, k, v, mask])
    f.op("sdpa_mask_causal", lambda q, k, v, m: attention(q, k, v, mask=m, causal=True), [q, k, v, mask])

    mha_case(f, "mha", 2, 3, 5, 8, 2, seed=20)
    mha_case(f, "mha_causal", 2, 4, 4, 6, 3, seed=30, causal=True)
    mha_case(f, "mha_mask", 2, 3, 5, 8, 4, seed=40, mask=torch.tensor([[0.0, 0.0, -1.0, float("-inf"), 0.5]] * 3))
    return f
