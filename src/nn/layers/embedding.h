#pragma once
// Embedding: integer indices [...] -> vectors [..., output_dim]. Parameter: weight
// [input_dim, output_dim]. Default init: random_uniform U(-0.05, 0.05) (Keras); the
// padding_idx row (if >= 0) starts at zero and gets no gradient (PyTorch).
#include <string>

#include "nn/init.h"
#include "nn/module.h"

namespace forge::nn {

struct EmbeddingOptions {
  int64_t padding_idx = -1;
  init::Initializer embeddings_initializer = "random_uniform";
};

class Embedding : public Module {
 public:
  Embedding(int64_t input_dim, int64_t output_dim, EmbeddingOptions options = {});
  Tensor forward(const Tensor& indices) override;
  std::string name() const override { return "Embedding"; }
  Shape output_shape(const Shape& input) const override;
  const Tensor& weight() const { return weight_; }

 private:
  int64_t input_dim_, output_dim_;
  EmbeddingOptions options_;
  Tensor weight_;
};

}  // namespace forge::nn
