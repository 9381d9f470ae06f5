#pragma once
// Core Keras layers: Dense, Flatten, Activation.
#include <string>

#include "nn/init.h"
#include "nn/module.h"

namespace forge::nn {

struct DenseOptions {
  std::string activation = "linear";
  bool use_bias = true;
  int64_t input_dim = 0;  // 0: inferred from the last axis on the first forward
  init::Initializer kernel_initializer = "glorot_uniform";
  init::Initializer bias_initializer = "zeros";
};

// y = activation(x @ weight^T + bias) on the last axis; x [..., in] -> [..., units].
// Parameters: weight [units, in] (PyTorch layout), bias [units].
class Dense : public Module {
 public:
  explicit Dense(int64_t units, DenseOptions options = {});
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Dense"; }
  Shape output_shape(const Shape& input) const override;
  void build(const Shape& input_shape) override;
  bool built() const { return weight_.defined(); }
  int64_t units() const { return units_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const std::string& activation() const { return options_.activation; }

 protected:
  void build_from_state(const std::map<std::string, Tensor>& own) override;

 private:
  void create(int64_t input_dim);
  int64_t units_;
  DenseOptions options_;
  Tensor weight_, bias_;
};

// [N, d1, d2, ...] -> [N, d1 * d2 * ...].
class Flatten : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Flatten"; }
  Shape output_shape(const Shape& input) const override;
};

// Applies a named activation (see nn/activation.h) elementwise.
class Activation : public Module {
 public:
  explicit Activation(std::string activation);
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Activation"; }
  Shape output_shape(const Shape& input) const override { return input; }
  const std::string& activation() const { return activation_; }

 private:
  std::string activation_;
};

}  // namespace forge::nn
