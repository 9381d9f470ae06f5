#pragma once
// Attention: scaled dot-product attention and multi-head attention (PyTorch layouts).
// Differentiable; the softmax runs as one fused kernel with a composed backward rule.
#include <cstdint>

#include "core/tensor.h"

namespace forge {

// softmax(q @ k^T * scale + mask) @ v.
// q [B, H, Tq, D], k [B, H, Tk, D], v [B, H, Tk, Dv] -> [B, H, Tq, Dv].
// mask: optional additive float mask (0 = keep, -inf = drop) broadcastable to [B, H, Tq, Tk].
// causal: query i sees keys j <= i + (Tk - Tq), i.e. queries are aligned to the end of the keys
// (as with a KV cache); needs Tq <= Tk. scale: 0 means 1/sqrt(D).
// A query whose keys are all masked gets NaN, like PyTorch.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask = Tensor(),
                                   bool causal = false, double scale = 0.0);

// Projections of multi-head attention in PyTorch Linear layout: weights [E, E], biases [E]
// (biases optional). torch.nn.MultiheadAttention's in_proj_weight is cat(q, k, v) on axis 0.
struct MultiHeadWeights {
  Tensor q_weight, q_bias, k_weight, k_bias, v_weight, v_bias, out_weight, out_bias;
};

// torch.nn.MultiheadAttention(batch_first=True) without dropout:
// query [B, Tq, E], key/value [B, Tk, E] -> [B, Tq, E]. E must be divisible by num_heads;
// mask and causal are as in scaled_dot_product_attention (mask broadcastable to [B, H, Tq, Tk]).
Tensor multi_head_attention(const Tensor& query, const Tensor& key, const Tensor& value, const MultiHeadWeights& w,
                            int64_t num_heads, const Tensor& mask = Tensor(), bool causal = false);

}  // namespace forge
