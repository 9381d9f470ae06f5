#pragma once
// Keras convolution layers on PyTorch layouts: Conv1D on [N, C, L] with weight [filters,
// C/groups, k]; Conv2D on NCHW with weight OIHW. padding "valid" (none) or "same" (output
// length ceil(L / stride), Keras/TensorFlow semantics).
#include <array>
#include <string>

#include "nn/init.h"
#include "nn/module.h"
#include "ops/conv.h"

namespace forge::nn {

namespace detail {
// "valid" | "same" -> Padding; throws "[<layer>] padding must be 'valid' or 'same', got 'x'".
Padding parse_padding(const std::string& padding, const std::string& layer);
// Output length of a window op along one axis (dilated kernel, Keras "valid"/"same").
int64_t window_output_length(int64_t length, int64_t kernel, int64_t stride, int64_t dilation, bool same);
}  // namespace detail

struct Conv1DOptions {
  int64_t strides = 1;
  std::string padding = "valid";
  int64_t dilation_rate = 1;
  int64_t groups = 1;
  std::string activation = "linear";
  bool use_bias = true;
  int64_t in_channels = 0;  // 0: inferred from the input's axis 1 on the first forward
  init::Initializer kernel_initializer = "glorot_uniform";
  init::Initializer bias_initializer = "zeros";
};

// [N, C, L] -> [N, filters, L']. Parameters: weight [filters, C/groups, kernel_size], bias [filters].
class Conv1D : public Module {
 public:
  Conv1D(int64_t filters, int64_t kernel_size, Conv1DOptions options = {});
  Tensor forward(const Tensor& input) override;
  // This convolution followed by `pool` as one op when the activation is relu and `pool` is a
  // valid max pooling (conv1d_relu_max_pool1d); otherwise pool.forward(forward(input)).
  Tensor forward_then_pool(const Tensor& input, Module& pool);
  std::string name() const override { return "Conv1D"; }
  Shape output_shape(const Shape& input) const override;
  void build(const Shape& input_shape) override;
  bool built() const { return weight_.defined(); }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }

 protected:
  void build_from_state(const std::map<std::string, Tensor>& own) override;

 private:
  void create(int64_t in_channels);
  int64_t filters_, kernel_size_;
  Conv1DOptions options_;
  Padding padding_;
  Tensor weight_, bias_;
};

struct Conv2DOptions {
  std::array<int64_t, 2> strides = {1, 1};
  std::string padding = "valid";
  std::array<int64_t, 2> dilation_rate = {1, 1};
  int64_t groups = 1;
  std::string activation = "linear";
  bool use_bias = true;
  int64_t in_channels = 0;  // 0: inferred from the input's axis 1 on the first forward
  init::Initializer kernel_initializer = "glorot_uniform";
  init::Initializer bias_initializer = "zeros";
};

// NCHW -> [N, filters, H', W']. Parameters: weight [filters, C/groups, kh, kw], bias [filters].
class Conv2D : public Module {
 public:
  Conv2D(int64_t filters, std::array<int64_t, 2> kernel_size, Conv2DOptions options = {});
  Conv2D(int64_t filters, int64_t kernel_size, Conv2DOptions options = {})
      : Conv2D(filters, {kernel_size, kernel_size}, std::move(options)) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Conv2D"; }
  Shape output_shape(const Shape& input) const override;
  void build(const Shape& input_shape) override;
  bool built() const { return weight_.defined(); }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  const std::array<int64_t, 2>& kernel_size() const { return kernel_size_; }
  // This convolution followed by `pool` as one op when the activation is relu, `pool` is a
  // valid max pooling and training or inference runs on a batch (conv2d_relu_max_pool2d: no
  // full-size activation tensor between them); otherwise pool.forward(forward(input)).
  Tensor forward_then_pool(const Tensor& input, Module& pool);
  const Conv2DOptions& options() const { return options_; }

 protected:
  void build_from_state(const std::map<std::string, Tensor>& own) override;

 private:
  void create(int64_t in_channels);
  int64_t filters_;
  std::array<int64_t, 2> kernel_size_;
  Conv2DOptions options_;
  Padding padding_;
  Tensor weight_, bias_;
};

}  // namespace forge::nn
