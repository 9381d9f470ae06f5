#pragma once
// Normalization layers. Defaults follow PyTorch, not Keras: BatchNormalization momentum = 0.1
// is the weight of the NEW batch statistic (running = (1 - m) * running + m * batch; Keras'
// momentum 0.99 corresponds to 0.01 here) and epsilon = 1e-5 for both layers (Keras 1e-3).
#include <string>

#include "nn/module.h"

namespace forge::nn {

struct BatchNormalizationOptions {
  double momentum = 0.1;
  double epsilon = 1e-5;
  bool center = true;        // learn bias
  bool scale = true;         // learn weight
  int64_t num_features = 0;  // 0: inferred from the input's axis 1 on the first forward
};

// Normalizes over every axis except the channel axis 1: [N, C], [N, C, L] or NCHW. Training
// uses batch statistics and updates the running ones; eval uses the running ones.
// Parameters: weight [C] (ones), bias [C] (zeros). Buffers: running_mean [C] (zeros),
// running_var [C] (ones, unbiased batch variance is accumulated), num_batches_tracked (int64
// scalar, counts training forwards; kept for PyTorch checkpoint compatibility).
class BatchNormalization : public Module {
 public:
  explicit BatchNormalization(BatchNormalizationOptions options = {});
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "BatchNormalization"; }
  Shape output_shape(const Shape& input) const override;
  void build(const Shape& input_shape) override;
  bool built() const { return running_mean_.defined(); }

 protected:
  void build_from_state(const std::map<std::string, Tensor>& own) override;

 private:
  void create(int64_t features);
  BatchNormalizationOptions options_;
  Tensor weight_, bias_, running_mean_, running_var_, num_batches_tracked_;
};

struct LayerNormalizationOptions {
  double epsilon = 1e-5;
  bool center = true;
  bool scale = true;
  int64_t normalized_dim = 0;  // size of the last axis; 0: inferred on the first forward
};

// Normalizes over the last axis. Parameters: weight [D] (ones), bias [D] (zeros).
class LayerNormalization : public Module {
 public:
  explicit LayerNormalization(LayerNormalizationOptions options = {});
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "LayerNormalization"; }
  Shape output_shape(const Shape& input) const override;
  void build(const Shape& input_shape) override;
  bool built() const { return dim_ > 0; }

 protected:
  void build_from_state(const std::map<std::string, Tensor>& own) override;

 private:
  void create(int64_t dim);
  LayerNormalizationOptions options_;
  int64_t dim_ = 0;
  Tensor weight_, bias_;
};

}  // namespace forge::nn
