#pragma once
// MultiHeadAttention (Keras name, PyTorch weights): embed_dim = num_heads * key_dim, and
// query/key/value inputs [N, T, embed_dim]. Child Dense layers q_proj, k_proj, v_proj and
// out_proj hold weight [E, E] and bias [E] (names "q_proj.weight", ...; glorot_uniform
// kernels, zero biases).
#include <memory>
#include <string>

#include "nn/layers/core.h"

namespace forge::nn {

struct MultiHeadAttentionOptions {
  bool use_bias = true;
  bool causal = false;  // forward(x) masks future positions
};

class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t num_heads, int64_t key_dim, MultiHeadAttentionOptions options = {});
  // Self-attention: forward(x, x, x) with the layer's causal option.
  Tensor forward(const Tensor& input) override;
  // mask: broadcastable to [N, heads, Tq, Tk], as in ops/attention.h.
  Tensor forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask = Tensor(),
                 bool causal = false);
  std::string name() const override { return "MultiHeadAttention"; }
  Shape output_shape(const Shape& input) const override;
  int64_t embed_dim() const { return num_heads_ * key_dim_; }

 private:
  int64_t num_heads_, key_dim_;
  MultiHeadAttentionOptions options_;
  std::shared_ptr<Dense> q_proj_, k_proj_, v_proj_, out_proj_;
};

}  // namespace forge::nn
