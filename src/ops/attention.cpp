#include "ops/attention.h"

#include <cmath>
#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backend/cpu/attention.h"
#include "backend/cpu/fused_backward.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace forge {

namespace {

constexpr const char* kSdpa = "scaled_dot_product_attention";
constexpr const char* kMha = "multi_head_attention";

// Additive [q_len, k_len] mask: 0 where key j <= query i + offset, -inf elsewhere.
Tensor causal_mask(int64_t q_len, int64_t k_len, int64_t offset) {
  Tensor mask = zeros({q_len, k_len});
  float* p = mask.data<float>();
  for (int64_t i = 0; i < q_len; ++i) {
    for (int64_t j = i + offset + 1; j < k_len; ++j) p[i * k_len + j] = -std::numeric_limits<float>::infinity();
  }
  return mask;
}

// softmax over the last axis made only of public ops; differentiable to any order.
Tensor softmax_composed(const Tensor& scores, bool causal, int64_t offset) {
  Tensor x = scores;
  if (causal) x = add(x, causal_mask(x.shape()[x.shape().size() - 2], x.shape().back(), offset));
  return exp(sub(x, logsumexp(x, {-1}, true)));
}

// Fused softmax of attention scores [..., Tq, Tk] over keys, with the causal mask applied in
// the kernel. Backward: dx = p * (g - sum(g * p)). Under create_graph p is recomputed with
// public ops so that higher derivatives see its dependence on the scores.
Tensor attention_softmax(const Tensor& scores_in, bool causal, int64_t offset) {
  Tensor scores = scores_in.dtype() == DType::kF32 ? scores_in.contiguous() : scores_in.to(DType::kF32).contiguous();
  const int64_t cols = scores.shape().back();
  const int64_t q_len = scores.shape()[scores.shape().size() - 2];
  Tensor out = empty(scores.shape());
  cpu::attention_softmax(scores.data<float>(), out.data<float>(), scores.numel() / cols, cols, q_len, causal, offset);
  if (needs_grad({&scores_in})) {
    record("attention_softmax", {scores_in}, out,
           [x = scores_in, p_saved = out.detach(), causal, offset](const Tensors& g) {
             if (!grad_enabled() && g[0].dtype() == DType::kF32 && g[0].shape() == p_saved.shape()) {
               const Tensor gc = g[0].contiguous();
               Tensor gx = empty(p_saved.shape());
               const int64_t cols = p_saved.shape().back();
               cpu::softmax_backward(p_saved.data<float>(), gc.data<float>(), gx.data<float>(),
                                     p_saved.numel() / cols, cols);
               return Tensors{gx};
             }
             Tensor p = grad_enabled() ? softmax_composed(x, causal, offset) : p_saved;
             Tensor gp = mul(g[0], p);
             return Tensors{sub(gp, mul(p, sum(gp, {-1}, true)))};
           });
  }
  return out;
}

bool is_float(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF64 || dtype == DType::kF16 || dtype == DType::kBF16;
}

void check_mask(const char* op, const Tensor& mask, const Shape& scores_shape) {
  FORGE_CHECK(is_float(mask.dtype()), "[{}] mask must be an additive float mask (0 keeps, -inf drops), got dtype {}",
              op, dtype_name(mask.dtype()));
  bool ok = mask.dim() <= 4;
  for (int64_t i = 1; ok && i <= mask.dim(); ++i) {
    const int64_t m = mask.shape()[static_cast<size_t>(mask.dim() - i)];
    ok = m == 1 || m == scores_shape[static_cast<size_t>(4 - i)];
  }
  FORGE_CHECK(ok, "[{}] mask of shape {} is not broadcastable to [batch, heads, queries, keys] = {}", op,
              shape_str(mask), shape_str(scores_shape));
}

void check_linear(const char* name, const Tensor& weight, const Tensor& bias, int64_t embed) {
  FORGE_CHECK(weight.defined(), "[{}] {}_weight is undefined", kMha, name);
  FORGE_CHECK(weight.shape() == (Shape{embed, embed}), "[{}] {}_weight must be [embed, embed] = ({},{}), got {}", kMha,
              name, embed, embed, shape_str(weight));
  FORGE_CHECK(!bias.defined() || bias.shape() == Shape{embed}, "[{}] {}_bias must be [embed] = ({},), got {}", kMha,
              name, embed, shape_str(bias));
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                   bool causal, double scale) {
  FORGE_CHECK(q.defined() && k.defined() && v.defined(), "[{}] q, k and v must be defined", kSdpa);
  FORGE_CHECK(q.dim() == 4, "[{}] q must be 4-d [batch, heads, queries, head_dim], got {}", kSdpa, shape_str(q));
  const int64_t batch = q.shape()[0], heads = q.shape()[1], q_len = q.shape()[2], head_dim = q.shape()[3];
  FORGE_CHECK(k.dim() == 4 && k.shape()[0] == batch && k.shape()[1] == heads && k.shape()[3] == head_dim,
              "[{}] k must be [batch, heads, keys, head_dim] = ({},{},keys,{}) to match q {}, got {}", kSdpa, batch,
              heads, head_dim, shape_str(q), shape_str(k));
  const int64_t k_len = k.shape()[2];
  FORGE_CHECK(v.dim() == 4 && v.shape()[0] == batch && v.shape()[1] == heads && v.shape()[2] == k_len,
              "[{}] v must be [batch, heads, keys, dim] = ({},{},{},dim) to match k {}, got {}", kSdpa, batch, heads,
              k_len, shape_str(k), shape_str(v));
  FORGE_CHECK(k_len > 0, "[{}] there must be at least one key, got k {}", kSdpa, shape_str(k));
  FORGE_CHECK(!causal || q_len <= k_len,
              "[{}] causal attention aligns queries to the end of the keys and needs queries <= keys, got {} > {}",
              kSdpa, q_len, k_len);
  FORGE_CHECK(std::isfinite(scale), "[{}] scale must be finite, got {}", kSdpa, scale);
  const Shape scores_shape{batch, heads, q_len, k_len};
  if (mask.defined()) check_mask(kSdpa, mask, scores_shape);
  if (scale == 0.0) scale = 1.0 / std::sqrt(static_cast<double>(head_dim));

  // scores: [B, H, Tq, D] @ [B, H, D, Tk] -> [B, H, Tq, Tk]; the scale is folded into q.
  Tensor scores = matmul(mul(q, scale), k.transpose(-2, -1));
  if (mask.defined()) scores = add(scores, mask);
  Tensor p = attention_softmax(scores, causal, k_len - q_len);
  return matmul(p, v);  // [B, H, Tq, Dv]
}

Tensor multi_head_attention(const Tensor& query, const Tensor& key, const Tensor& value, const MultiHeadWeights& w,
                            int64_t num_heads, const Tensor& mask, bool causal) {
  FORGE_CHECK(query.defined() && key.defined() && value.defined(), "[{}] query, key and value must be defined", kMha);
  FORGE_CHECK(query.dim() == 3, "[{}] query must be 3-d [batch, queries, embed], got {}", kMha, shape_str(query));
  const int64_t batch = query.shape()[0], q_len = query.shape()[1], embed = query.shape()[2];
  FORGE_CHECK(key.dim() == 3 && key.shape()[0] == batch && key.shape()[2] == embed,
              "[{}] key must be [batch, keys, embed] = ({},keys,{}), got {}", kMha, batch, embed, shape_str(key));
  const int64_t k_len = key.shape()[1];
  FORGE_CHECK(value.shape() == key.shape(), "[{}] value must have the shape of key {}, got {}", kMha, shape_str(key),
              shape_str(value));
  FORGE_CHECK(num_heads > 0, "[{}] num_heads must be positive, got {}", kMha, num_heads);
  FORGE_CHECK(embed % num_heads == 0, "[{}] embed dim {} is not divisible by num_heads {}", kMha, embed, num_heads);
  check_linear("q", w.q_weight, w.q_bias, embed);
  check_linear("k", w.k_weight, w.k_bias, embed);
  check_linear("v", w.v_weight, w.v_bias, embed);
  check_linear("out", w.out_weight, w.out_bias, embed);
  if (mask.defined()) check_mask(kMha, mask, {batch, num_heads, q_len, k_len});
  const int64_t head_dim = embed / num_heads;

  // [B, T, E] -> [B, T, H, D] -> [B, H, T, D]
  auto split_heads = [&](const Tensor& x, int64_t len) {
    return permute(reshape(x, {batch, len, num_heads, head_dim}), {0, 2, 1, 3});
  };
  Tensor q = split_heads(linear(query, w.q_weight, w.q_bias), q_len);
  Tensor k = split_heads(linear(key, w.k_weight, w.k_bias), k_len);
  Tensor v = split_heads(linear(value, w.v_weight, w.v_bias), k_len);
  Tensor heads = scaled_dot_product_attention(q, k, v, mask, causal);
  // [B, H, Tq, D] -> [B, Tq, H, D] -> [B, Tq, E]
  Tensor merged = reshape(permute(heads, {0, 2, 1, 3}), {batch, q_len, embed});
  return linear(merged, w.out_weight, w.out_bias);
}

}  // namespace forge
