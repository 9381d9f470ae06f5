#pragma once
// Parameter initializers. Each fills an existing tensor in place (no autograd) and, when
// random, draws from the Generator it is given, so a seeded generator gives identical weights
// on every platform.
//
// Fans (compute_fans): a dense weight [out, in] has fan_in = in, fan_out = out; a convolution
// weight [out, in/groups, k...] has fan_in = in/groups * prod(k), fan_out = out * prod(k);
// a 1-d tensor [n] has fan_in = fan_out = n (Keras); a 0-d tensor has fans 1.
//
// Conventions: glorot/xavier follow Keras and PyTorch (identical); he/kaiming follow PyTorch:
// he_normal is a plain normal with std = gain / sqrt(fan) (Keras truncates it), and the
// default gain is sqrt(2) (ReLU). Layer defaults: Dense/Conv kernels glorot_uniform and zero
// biases (Keras); see each layer for its own.
#include <functional>
#include <string>

#include "core/random.h"
#include "core/tensor.h"

namespace forge::nn::init {

struct Fans {
  int64_t fan_in = 1;
  int64_t fan_out = 1;
};
Fans compute_fans(const Shape& shape);

enum class FanMode { kFanIn, kFanOut };

// PyTorch's recommended gains: "linear"/"conv1d"/"conv2d"/"sigmoid" 1, "tanh" 5/3,
// "relu" sqrt(2), "leaky_relu" sqrt(2 / (1 + slope^2)), "selu" 3/4.
double gain(const std::string& nonlinearity, double param = 0.01);

void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void constant_(const Tensor& t, double value);
// N(mean, std^2), the Gaussian init of the seed models.
void normal_(const Tensor& t, Generator& gen, double mean = 0.0, double std = 1.0);
// U[a, b).
void uniform_(const Tensor& t, Generator& gen, double a = 0.0, double b = 1.0);
// U(-l, l) with l = gain * sqrt(6 / (fan_in + fan_out)).
void glorot_uniform_(const Tensor& t, Generator& gen, double gain = 1.0);
// N(0, s^2) with s = gain * sqrt(2 / (fan_in + fan_out)).
void glorot_normal_(const Tensor& t, Generator& gen, double gain = 1.0);
// U(-l, l) with l = gain * sqrt(3 / fan).
void he_uniform_(const Tensor& t, Generator& gen, FanMode mode = FanMode::kFanIn, double gain = 1.4142135623730951);
// N(0, s^2) with s = gain / sqrt(fan).
void he_normal_(const Tensor& t, Generator& gen, FanMode mode = FanMode::kFanIn, double gain = 1.4142135623730951);

inline void xavier_uniform_(const Tensor& t, Generator& gen, double g = 1.0) { glorot_uniform_(t, gen, g); }
inline void xavier_normal_(const Tensor& t, Generator& gen, double g = 1.0) { glorot_normal_(t, gen, g); }
inline void kaiming_uniform_(const Tensor& t, Generator& gen, FanMode mode = FanMode::kFanIn,
                             double g = 1.4142135623730951) {
  he_uniform_(t, gen, mode, g);
}
inline void kaiming_normal_(const Tensor& t, Generator& gen, FanMode mode = FanMode::kFanIn,
                            double g = 1.4142135623730951) {
  he_normal_(t, gen, mode, g);
}

// An initializer as a layer option: built from a Keras name ("glorot_uniform", "he_normal",
// "zeros", "ones", "random_normal" = N(0, 0.05^2), "random_uniform" = U(-0.05, 0.05),
// "xavier_*", "kaiming_*", "lecun_uniform", "lecun_normal") or from a function.
class Initializer {
 public:
  using Fn = std::function<void(const Tensor&, Generator&)>;
  Initializer(const char* name);         // NOLINT(google-explicit-constructor): Keras-style strings
  Initializer(const std::string& name);  // NOLINT(google-explicit-constructor)
  Initializer(Fn fn, std::string name = "custom") : fn_(std::move(fn)), name_(std::move(name)) {}

  static Initializer constant(double value);
  static Initializer normal(double mean, double std);
  static Initializer uniform(double a, double b);

  void operator()(const Tensor& t, Generator& gen) const { fn_(t, gen); }
  const std::string& name() const { return name_; }

 private:
  Fn fn_;
  std::string name_;
};

}  // namespace forge::nn::init
