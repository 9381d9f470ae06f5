#pragma once
// Keras activation names shared by layers with an `activation` option and by Activation.
#include <string>

#include "core/tensor.h"

namespace forge::nn {

// Throws "[<layer>] unknown activation 'x' (expected ...)" unless `name` is one of: linear,
// relu, sigmoid, tanh, softmax (last axis), gelu (exact erf form), silu (= swish), leaky_relu
// (slope 0.2, Keras' default; PyTorch's is 0.01), swish (= silu).
void check_activation(const std::string& name, const std::string& layer);
// Applies the named activation (validated by check_activation).
Tensor apply_activation(const std::string& name, const Tensor& x);

}  // namespace forge::nn
