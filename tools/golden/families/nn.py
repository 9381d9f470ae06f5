"""Goldens for nn layers: torch.nn layers with weights copied into Forge's Keras-named layers.

Every case's inputs are (x, *parameters) so the C++ test checks the gradients of the input
and of every parameter (roles grad0, grad1, ...). Parameters are listed in the Forge layer's
named_parameters() order.
"""
import torch
import torch.nn.functional as F
from torch.nn.utils.stateless import functional_call

from golden_io import Family, rand, randn


def lstm_fn(is_lstm, hidden):
    # torch._VF is what nn.LSTM / nn.GRU call; functional_call cannot swap RNN weights in
    # torch 1.13 (the module keeps its cached _flat_weights).
    def fn(x, w_ih, w_hh, b_ih, b_hh):
        h0 = torch.zeros(1, x.shape[0], hidden, dtype=x.dtype)
        params = [w_ih, w_hh, b_ih, b_hh]
        if is_lstm:
            seq, h, c = torch._VF.lstm(x, (h0, h0), params, True, 1, 0.0, False, False, True)
            return seq, h[0], c[0]
        seq, h = torch._VF.gru(x, h0, params, True, 1, 0.0, False, False, True)
        return seq, h[0]
    return fn


def mha_fn(num_heads, causal):
    def fn(x, wq, bq, wk, bk, wv, bv, wo, bo):
        e = x.shape[-1]
        m = torch.nn.MultiheadAttention(e, num_heads, batch_first=True).double()
        params = {"in_proj_weight": torch.cat([wq, wk, wv]), "in_proj_bias": torch.cat([bq, bk, bv]),
                  "out_proj.weight": wo, "out_proj.bias": bo}
        t = x.shape[1]
        mask = None
        if causal:
            mask = torch.triu(torch.full((t, t), float("-inf"), dtype=torch.float64), diagonal=1)
        return functional_call(m, params, (x, x, x), {"need_weights": False, "attn_mask": mask})[0]
    return fn


def batch_norm_case(f, case, shape, training, seed):
    c = shape[1]
    x = randn(*shape, seed=seed, scale=2.0) + 0.5
    w, b = randn(c, seed=seed + 1), randn(c, seed=seed + 2)
    running_mean = randn(c, seed=seed + 3).double()
    running_var = rand(c, seed=seed + 4, low=0.5, high=2.0).double()
    rm0, rv0 = running_mean.clone(), running_var.clone()

    def fn(x, w, b):
        return F.batch_norm(x, running_mean, running_var, w, b, training=training, momentum=0.1, eps=1e-5)

    f.op(case, fn, [x, w, b], {"training": training})
    f.tensors[f"{case}/running_mean"] = rm0.float()
    f.tensors[f"{case}/running_var"] = rv0.float()
    f.tensors[f"{case}/running_mean_after"] = running_mean.float()
    f.tensors[f"{case}/running_var_after"] = running_var.float()


def build():
    f = Family("nn")
    # Dense == Linear (+ activation); weight [out, in].
    f.op("dense_tanh", lambda x, w, b: torch.tanh(F.linear(x, w, b)),
         [randn(3, 5, seed=1), randn(4, 5, seed=2, scale=0.5), randn(4, seed=3)])
    f.op("dense_3d", F.linear, [randn(2, 3, 5, seed=4), randn(4, 5, seed=5, scale=0.5), randn(4, seed=6)])
    # Conv2D == conv2d, OIHW.
    f.op("conv2d_valid_stride", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1)),
         [randn(2, 3, 7, 6, seed=7), randn(4, 3, 3, 2, seed=8, scale=0.3), randn(4, seed=9)])
    f.op("conv2d_same", lambda x, w, b: F.conv2d(x, w, b, padding="same"),
         [randn(2, 2, 5, 5, seed=10), randn(3, 2, 3, 3, seed=11, scale=0.3), randn(3, seed=12)])
    # LSTM / GRU, batch first; outputs: sequence, last h (and last c).
    h = 5
    f.op("lstm", lstm_fn(True, h),
         [randn(2, 4, 3, seed=13), randn(4 * h, 3, seed=14, scale=0.4), randn(4 * h, h, seed=15, scale=0.4),
          randn(4 * h, seed=16, scale=0.4), randn(4 * h, seed=17, scale=0.4)])
    f.op("gru", lstm_fn(False, h),
         [randn(2, 4, 3, seed=18), randn(3 * h, 3, seed=19, scale=0.4), randn(3 * h, h, seed=20, scale=0.4),
          randn(3 * h, seed=21, scale=0.4), randn(3 * h, seed=22, scale=0.4)])
    # MultiHeadAttention: 2 heads, key_dim 4 -> E = 8; self-attention, plain and causal.
    e = 8
    mha_params = []
    for i in range(4):
        mha_params += [randn(e, e, seed=30 + 2 * i, scale=0.35), randn(e, seed=31 + 2 * i, scale=0.1)]
    f.op("mha_self", mha_fn(2, False), [randn(2, 4, e, seed=40)] + mha_params)
    f.op("mha_causal", mha_fn(2, True), [randn(2, 4, e, seed=41)] + mha_params)
    # The key bias gradient is identically zero (softmax is shift invariant per query); its
    # float32 rounding noise cannot meet a tolerance relative to zero, so the C++ test checks
    # it against an absolute bound instead of a stored value.
    for case in ("mha_self", "mha_causal"):
        del f.tensors[f"{case}/grad4"]
    # BatchNormalization (PyTorch momentum 0.1, eps 1e-5) in training and eval.
    batch_norm_case(f, "batch_norm_train_4d", (4, 3, 2, 2), True, 50)
    batch_norm_case(f, "batch_norm_train_2d", (6, 3), True, 60)
    batch_norm_case(f, "batch_norm_eval_4d", (4, 3, 2, 2), False, 70)
    # LayerNormalization over the last axis.
    f.op("layer_norm", lambda x, w, b: F.layer_norm(x, (6,), w, b, eps=1e-5),
         [randn(2, 3, 6, seed=80, scale=2.0), randn(6, seed=81), randn(6, seed=82)])
    return f
