#include "nn/activation.h"

#include <array>

#include "ops/elementwise.h"
#include "ops/softmax.h"

namespace forge::nn {

namespace {

constexpr std::array<const char*, 9> kActivations = {"linear", "relu", "sigmoid", "tanh",      "softmax",
                                                     "gelu",   "silu", "swish",   "leaky_relu"};

}  // namespace

void check_activation(const std::string& name, const std::string& layer) {
  for (const char* known : kActivations) {
    if (name == known) return;
  }
  fail("[{}] unknown activation '{}' (expected linear, relu, sigmoid, tanh, softmax, gelu, silu, swish, leaky_relu)",
       layer, name);
}

Tensor apply_activation(const std::string& name, const Tensor& x) {
  if (name == "linear" || name.empty()) return x;
  if (name == "relu") return relu(x);
  if (name == "sigmoid") return sigmoid(x);
  if (name == "tanh") return tanh(x);
  if (name == "softmax") return softmax(x, -1);
  if (name == "gelu") return gelu(x, false);
  if (name == "silu" || name == "swish") return silu(x);
  if (name == "leaky_relu") return leaky_relu(x, 0.2);
  check_activation(name, "activation");
  return x;
}

}  // namespace forge::nn
