#include "nn/layers/embedding.h"

#include "ops/elementwise.h"
#include "ops/embedding.h"

namespace forge::nn {

Embedding::Embedding(int64_t input_dim, int64_t output_dim, EmbeddingOptions options)
    : input_dim_(input_dim), output_dim_(output_dim), options_(std::move(options)) {
  FORGE_CHECK(input_dim > 0 && output_dim > 0, "[Embedding] input_dim and output_dim must be positive, got {} and {}",
              input_dim, output_dim);
  FORGE_CHECK(options_.padding_idx >= -1 && options_.padding_idx < input_dim,
              "[Embedding] padding_idx {} out of range for input_dim {} (use -1 for none)", options_.padding_idx,
              input_dim);
  Tensor w = empty({input_dim, output_dim});
  options_.embeddings_initializer(w, generator());
  if (options_.padding_idx >= 0) fill_(w.select(0, options_.padding_idx), 0.0);
  weight_ = register_parameter("weight", w);
}

Shape Embedding::output_shape(const Shape& input) const {
  Shape out = input;
  out.push_back(output_dim_);
  return out;
}

Tensor Embedding::forward(const Tensor& indices) {
  FORGE_CHECK(indices.defined(), "[Embedding] input is undefined");
  return embedding(indices, weight_, options_.padding_idx);
}

}  // namespace forge::nn
