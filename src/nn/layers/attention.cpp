#include "nn/layers/attention.h"

#include "ops/attention.h"

namespace forge::nn {

MultiHeadAttention::MultiHeadAttention(int64_t num_heads, int64_t key_dim, MultiHeadAttentionOptions options)
    : num_heads_(num_heads), key_dim_(key_dim), options_(options) {
  FORGE_CHECK(num_heads > 0 && key_dim > 0,
              "[MultiHeadAttention] num_heads and key_dim must be positive, got {} "
              "and {}",
              num_heads, key_dim);
  const DenseOptions proj{.use_bias = options_.use_bias, .input_dim = embed_dim()};
  q_proj_ = register_module("q_proj", std::make_shared<Dense>(embed_dim(), proj));
  k_proj_ = register_module("k_proj", std::make_shared<Dense>(embed_dim(), proj));
  v_proj_ = register_module("v_proj", std::make_shared<Dense>(embed_dim(), proj));
  out_proj_ = register_module("out_proj", std::make_shared<Dense>(embed_dim(), proj));
}

Shape MultiHeadAttention::output_shape(const Shape& input) const {
  FORGE_CHECK(input.size() == 3 && input[2] == embed_dim(),
              "[MultiHeadAttention] query must be (N,T,{}) (num_heads * key_dim), got {}", embed_dim(),
              shape_str(input));
  return input;
}

Tensor MultiHeadAttention::forward(const Tensor& input) {
  return forward(input, input, input, Tensor(), options_.causal);
}

Tensor MultiHeadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& mask,
                                   bool causal) {
  FORGE_CHECK(query.defined() && key.defined() && value.defined(), "[MultiHeadAttention] inputs must be defined");
  for (const Tensor* t : {&query, &key, &value}) output_shape(t->shape());
  const MultiHeadWeights w{q_proj_->weight(), q_proj_->bias(), k_proj_->weight(),   k_proj_->bias(),
                           v_proj_->weight(), v_proj_->bias(), out_proj_->weight(), out_proj_->bias()};
  return multi_head_attention(query, key, value, w, num_heads_, mask, causal);
}

}  // namespace forge::nn
