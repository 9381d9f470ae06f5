#include "nn/layers/core.h"

#include "nn/activation.h"
#include "ops/linalg.h"
#include "ops/view.h"

namespace forge::nn {

// ---- Dense

Dense::Dense(int64_t units, DenseOptions options) : units_(units), options_(std::move(options)) {
  FORGE_CHECK(units > 0, "[Dense] units must be positive, got {}", units);
  FORGE_CHECK(options_.input_dim >= 0, "[Dense] input_dim must be >= 0 (0 = infer), got {}", options_.input_dim);
  check_activation(options_.activation, "Dense");
  if (options_.input_dim > 0) create(options_.input_dim);
}

void Dense::create(int64_t input_dim) {
  Tensor w = empty({units_, input_dim});
  options_.kernel_initializer(w, generator());
  weight_ = register_parameter("weight", w);
  if (options_.use_bias) {
    Tensor b = empty({units_});
    options_.bias_initializer(b, generator());
    bias_ = register_parameter("bias", b);
  }
}

void Dense::build(const Shape& input_shape) {
  if (built()) return;
  FORGE_CHECK(!input_shape.empty() && input_shape.back() > 0, "[Dense] cannot infer the input size from input shape {}",
              shape_str(input_shape));
  create(input_shape.back());
}

void Dense::build_from_state(const std::map<std::string, Tensor>& own) {
  auto it = own.find("weight");
  if (!built() && it != own.end() && it->second.dim() == 2) create(it->second.shape()[1]);
}

Shape Dense::output_shape(const Shape& input) const {
  FORGE_CHECK(!input.empty(), "[Dense] input must have at least 1 axis, got {}", shape_str(input));
  FORGE_CHECK(!built() || input.back() == weight_.shape()[1],
              "[Dense] input has {} features (last axis of {}), expected {}", input.back(), shape_str(input),
              weight_.shape()[1]);
  Shape out = input;
  out.back() = units_;
  return out;
}

Tensor Dense::forward(const Tensor& input) {
  FORGE_CHECK(input.defined() && input.dim() >= 1, "[Dense] input must have at least 1 axis");
  build(input.shape());
  output_shape(input.shape());  // validates the feature count
  // ReLU is fused into the GEMM's output pass (forward) and its gradient mask (backward).
  if (options_.activation == "relu") return linear_relu(input, weight_, bias_);
  return apply_activation(options_.activation, linear(input, weight_, bias_));
}

// ---- Flatten

Tensor Flatten::forward(const Tensor& input) {
  FORGE_CHECK(input.defined() && input.dim() >= 1, "[Flatten] input must have a batch axis");
  return input.dim() == 1 ? input.unsqueeze(1) : input.flatten(1);
}

Shape Flatten::output_shape(const Shape& input) const {
  FORGE_CHECK(!input.empty(), "[Flatten] input must have a batch axis, got {}", shape_str(input));
  return {input[0], numel_of(Shape(input.begin() + 1, input.end()))};
}

// ---- Activation

Activation::Activation(std::string activation) : activation_(std::move(activation)) {
  check_activation(activation_, "Activation");
}

Tensor Activation::forward(const Tensor& input) { return apply_activation(activation_, input); }

}  // namespace forge::nn
