#include "nn/layers/norm.h"

#include "ops/elementwise.h"
#include "ops/norm.h"

namespace forge::nn {

// ---- BatchNormalization

BatchNormalization::BatchNormalization(BatchNormalizationOptions options) : options_(options) {
  FORGE_CHECK(options_.momentum >= 0.0 && options_.momentum <= 1.0,
              "[BatchNormalization] momentum must be in [0, 1] (PyTorch convention: weight of the new batch), got {}",
              options_.momentum);
  FORGE_CHECK(options_.epsilon > 0.0, "[BatchNormalization] epsilon must be positive, got {}", options_.epsilon);
  FORGE_CHECK(options_.num_features >= 0, "[BatchNormalization] num_features must be >= 0, got {}",
              options_.num_features);
  if (options_.num_features > 0) create(options_.num_features);
}

void BatchNormalization::create(int64_t features) {
  if (options_.scale) weight_ = register_parameter("weight", ones({features}));
  if (options_.center) bias_ = register_parameter("bias", zeros({features}));
  running_mean_ = register_buffer("running_mean", zeros({features}));
  running_var_ = register_buffer("running_var", ones({features}));
  num_batches_tracked_ = register_buffer("num_batches_tracked", zeros({}, DType::kI64));
}

void BatchNormalization::build(const Shape& input_shape) {
  if (built()) return;
  FORGE_CHECK(input_shape.size() >= 2, "[BatchNormalization] input must be (N,C,...), got {}", shape_str(input_shape));
  create(input_shape[1]);
}

void BatchNormalization::build_from_state(const std::map<std::string, Tensor>& own) {
  auto it = own.find("running_mean");
  if (!built() && it != own.end() && it->second.dim() == 1) create(it->second.shape()[0]);
}

Shape BatchNormalization::output_shape(const Shape& input) const {
  FORGE_CHECK(input.size() >= 2 && input.size() <= 5,
              "[BatchNormalization] input must be (N,C), (N,C,L) or "
              "(N,C,H,W), got {}",
              shape_str(input));
  FORGE_CHECK(!built() || input[1] == running_mean_.shape()[0],
              "[BatchNormalization] input has {} channels (axis 1 of {}), expected {}", input[1], shape_str(input),
              running_mean_.shape()[0]);
  return input;
}

Tensor BatchNormalization::forward(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[BatchNormalization] input is undefined");
  build(input.shape());
  output_shape(input.shape());
  Tensor y = batch_norm(input, running_mean_, running_var_, weight_, bias_, is_training(), options_.momentum,
                        options_.epsilon);
  if (is_training()) fill_(num_batches_tracked_, num_batches_tracked_.item() + 1);
  return y;
}

// ---- LayerNormalization

LayerNormalization::LayerNormalization(LayerNormalizationOptions options) : options_(options) {
  FORGE_CHECK(options_.epsilon > 0.0, "[LayerNormalization] epsilon must be positive, got {}", options_.epsilon);
  FORGE_CHECK(options_.normalized_dim >= 0, "[LayerNormalization] normalized_dim must be >= 0, got {}",
              options_.normalized_dim);
  if (options_.normalized_dim > 0) create(options_.normalized_dim);
}

void LayerNormalization::create(int64_t dim) {
  dim_ = dim;
  if (options_.scale) weight_ = register_parameter("weight", ones({dim}));
  if (options_.center) bias_ = register_parameter("bias", zeros({dim}));
}

void LayerNormalization::build(const Shape& input_shape) {
  if (built()) return;
  FORGE_CHECK(!input_shape.empty() && input_shape.back() > 0,
              "[LayerNormalization] cannot infer the normalized size from input shape {}", shape_str(input_shape));
  create(input_shape.back());
}

void LayerNormalization::build_from_state(const std::map<std::string, Tensor>& own) {
  if (built()) return;
  for (const char* role : {"weight", "bias"}) {
    auto it = own.find(role);
    if (it != own.end() && it->second.dim() == 1) {
      create(it->second.shape()[0]);
      return;
    }
  }
}

Shape LayerNormalization::output_shape(const Shape& input) const {
  FORGE_CHECK(!input.empty(), "[LayerNormalization] input must have at least 1 axis");
  FORGE_CHECK(!built() || input.back() == dim_,
              "[LayerNormalization] input has {} features (last axis of {}), "
              "expected {}",
              input.back(), shape_str(input), dim_);
  return input;
}

Tensor LayerNormalization::forward(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[LayerNormalization] input is undefined");
  build(input.shape());
  output_shape(input.shape());
  return layer_norm(input, {dim_}, weight_, bias_, options_.epsilon);
}

}  // namespace forge::nn
