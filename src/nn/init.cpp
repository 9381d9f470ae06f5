#include "nn/init.h"

#include <cmath>

#include "ops/elementwise.h"

namespace forge::nn::init {

namespace {

void check_float(const Tensor& t, const char* op) {
  FORGE_CHECK(t.defined(), "[{}] tensor is undefined", op);
  FORGE_CHECK(t.dtype() == DType::kF32 || t.dtype() == DType::kF64, "[{}] expects a float tensor, got {}", op,
              dtype_name(t.dtype()));
}

int64_t fan_of(const Tensor& t, FanMode mode) {
  const Fans fans = compute_fans(t.shape());
  return mode == FanMode::kFanIn ? fans.fan_in : fans.fan_out;
}

}  // namespace

Fans compute_fans(const Shape& shape) {
  if (shape.empty()) return {1, 1};
  if (shape.size() == 1) return {shape[0], shape[0]};
  int64_t receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i) receptive *= shape[i];
  return {shape[1] * receptive, shape[0] * receptive};
}

double gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "conv1d" || nonlinearity == "conv2d" || nonlinearity == "sigmoid" ||
      nonlinearity == "identity") {
    return 1.0;
  }
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nonlinearity == "selu") return 0.75;
  fail("[init::gain] unknown nonlinearity '{}' (expected linear, sigmoid, tanh, relu, leaky_relu, selu)", nonlinearity);
}

void zeros_(const Tensor& t) { constant_(t, 0.0); }
void ones_(const Tensor& t) { constant_(t, 1.0); }

void constant_(const Tensor& t, double value) {
  FORGE_CHECK(t.defined(), "[init::constant_] tensor is undefined");
  fill_(t, value);
}

void normal_(const Tensor& t, Generator& gen, double mean, double std) {
  check_float(t, "init::normal_");
  FORGE_CHECK(std >= 0, "[init::normal_] std must be >= 0, got {}", std);
  copy_(t, randn(t.shape(), mean, std, &gen));
}

void uniform_(const Tensor& t, Generator& gen, double a, double b) {
  check_float(t, "init::uniform_");
  FORGE_CHECK(a <= b, "[init::uniform_] needs a <= b, got a={} b={}", a, b);
  copy_(t, rand(t.shape(), a, b, &gen));
}

void glorot_uniform_(const Tensor& t, Generator& gen, double g) {
  check_float(t, "init::glorot_uniform_");
  const Fans fans = compute_fans(t.shape());
  const double limit = g * std::sqrt(6.0 / static_cast<double>(fans.fan_in + fans.fan_out));
  uniform_(t, gen, -limit, limit);
}

void glorot_normal_(const Tensor& t, Generator& gen, double g) {
  check_float(t, "init::glorot_normal_");
  const Fans fans = compute_fans(t.shape());
  normal_(t, gen, 0.0, g * std::sqrt(2.0 / static_cast<double>(fans.fan_in + fans.fan_out)));
}

void he_uniform_(const Tensor& t, Generator& gen, FanMode mode, double g) {
  check_float(t, "init::he_uniform_");
  const double limit = g * std::sqrt(3.0 / static_cast<double>(fan_of(t, mode)));
  uniform_(t, gen, -limit, limit);
}

void he_normal_(const Tensor& t, Generator& gen, FanMode mode, double g) {
  check_float(t, "init::he_normal_");
  normal_(t, gen, 0.0, g / std::sqrt(static_cast<double>(fan_of(t, mode))));
}

Initializer::Initializer(const char* name) : Initializer(std::string(name)) {}

Initializer::Initializer(const std::string& name) : name_(name) {
  if (name == "zeros") {
    fn_ = [](const Tensor& t, Generator&) { zeros_(t); };
  } else if (name == "ones") {
    fn_ = [](const Tensor& t, Generator&) { ones_(t); };
  } else if (name == "glorot_uniform" || name == "xavier_uniform") {
    fn_ = [](const Tensor& t, Generator& g) { glorot_uniform_(t, g); };
  } else if (name == "glorot_normal" || name == "xavier_normal") {
    fn_ = [](const Tensor& t, Generator& g) { glorot_normal_(t, g); };
  } else if (name == "he_uniform" || name == "kaiming_uniform") {
    fn_ = [](const Tensor& t, Generator& g) { he_uniform_(t, g); };
  } else if (name == "he_normal" || name == "kaiming_normal") {
    fn_ = [](const Tensor& t, Generator& g) { he_normal_(t, g); };
  } else if (name == "lecun_uniform") {
    fn_ = [](const Tensor& t, Generator& g) { he_uniform_(t, g, FanMode::kFanIn, 1.0); };
  } else if (name == "lecun_normal") {
    fn_ = [](const Tensor& t, Generator& g) { he_normal_(t, g, FanMode::kFanIn, 1.0); };
  } else if (name == "random_normal") {
    fn_ = [](const Tensor& t, Generator& g) { normal_(t, g, 0.0, 0.05); };
  } else if (name == "random_uniform") {
    fn_ = [](const Tensor& t, Generator& g) { uniform_(t, g, -0.05, 0.05); };
  } else {
    fail(
        "[Initializer] unknown initializer '{}' (expected zeros, ones, glorot_uniform, glorot_normal, he_uniform, "
        "he_normal, lecun_uniform, lecun_normal, random_normal, random_uniform, xavier_*, kaiming_*)",
        name);
  }
}

Initializer Initializer::constant(double value) {
  return Initializer([value](const Tensor& t, Generator&) { constant_(t, value); }, "constant");
}

Initializer Initializer::normal(double mean, double std) {
  return Initializer([mean, std](const Tensor& t, Generator& g) { normal_(t, g, mean, std); }, "normal");
}

Initializer Initializer::uniform(double a, double b) {
  return Initializer([a, b](const Tensor& t, Generator& g) { uniform_(t, g, a, b); }, "uniform");
}

}  // namespace forge::nn::init
