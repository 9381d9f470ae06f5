#include "nn/layers/conv.h"

#include <cstdlib>

#include "nn/activation.h"
#include "nn/layers/pool.h"

namespace forge::nn {

namespace {

// FORGE_FUSE_CONV_POOL=0 runs the layers one by one (for side-by-side benchmarks).
bool fuse_conv_pool() {
  static const bool fuse = [] {
    const char* v = std::getenv("FORGE_FUSE_CONV_POOL");
    return v == nullptr || std::string(v) != "0";
  }();
  return fuse;
}

// `conv` (a relu convolution of rank-`rank` inputs) then `pool`: as one op, fused(the PoolT max
// pooling), when `pool` is a valid max pooling; else the two layers one by one. The layers'
// own shape checks run first, so errors name them.
template <class PoolT, class ConvT, class Fused>
Tensor conv_then_pool(ConvT& conv, const std::string& activation, const Tensor& input, int64_t rank, Module& pool,
                      const Fused& fused) {
  const auto* p = dynamic_cast<const PoolT*>(&pool);
  const bool fusable = fuse_conv_pool() && p != nullptr && p->kind() == PoolT::Kind::kMax &&
                       p->options().padding == "valid" && activation == "relu" && input.defined() &&
                       input.dim() == rank;
  if (!fusable) return pool.forward(conv.forward(input));
  conv.build(input.shape());
  pool.output_shape(conv.output_shape(input.shape()));
  return fused(*p);
}

}  // namespace

namespace detail {

Padding parse_padding(const std::string& padding, const std::string& layer) {
  if (padding == "valid") return Padding::valid();
  if (padding == "same") return Padding::same();
  fail("[{}] padding must be 'valid' or 'same', got '{}'", layer, padding);
}

int64_t window_output_length(int64_t length, int64_t kernel, int64_t stride, int64_t dilation, bool same) {
  if (same) return (length + stride - 1) / stride;
  const int64_t span = dilation * (kernel - 1) + 1;
  return length < span ? 0 : (length - span) / stride + 1;
}

}  // namespace detail

namespace {

void check_positive(int64_t value, const char* what, const char* layer) {
  FORGE_CHECK(value > 0, "[{}] {} must be positive, got {}", layer, what, value);
}

void check_input_channels(const Shape& input, int64_t rank, const Tensor& weight, int64_t groups, const char* layer,
                          const char* layout) {
  FORGE_CHECK(static_cast<int64_t>(input.size()) == rank, "[{}] input must be {}-d {}, got {}", layer, rank, layout,
              shape_str(input));
  if (weight.defined()) {
    FORGE_CHECK(input[1] == weight.shape()[1] * groups, "[{}] input has {} channels (axis 1 of {}), expected {}", layer,
                input[1], shape_str(input), weight.shape()[1] * groups);
  }
}

}  // namespace

// ---- Conv1D

Conv1D::Conv1D(int64_t filters, int64_t kernel_size, Conv1DOptions options)
    : filters_(filters),
      kernel_size_(kernel_size),
      options_(std::move(options)),
      padding_(detail::parse_padding(options_.padding, "Conv1D")) {
  check_positive(filters, "filters", "Conv1D");
  check_positive(kernel_size, "kernel_size", "Conv1D");
  check_positive(options_.strides, "strides", "Conv1D");
  check_positive(options_.dilation_rate, "dilation_rate", "Conv1D");
  check_positive(options_.groups, "groups", "Conv1D");
  FORGE_CHECK(filters % options_.groups == 0, "[Conv1D] filters ({}) must be divisible by groups ({})", filters,
              options_.groups);
  check_activation(options_.activation, "Conv1D");
  if (options_.in_channels > 0) create(options_.in_channels);
}

void Conv1D::create(int64_t in_channels) {
  FORGE_CHECK(in_channels % options_.groups == 0, "[Conv1D] input channels ({}) must be divisible by groups ({})",
              in_channels, options_.groups);
  Tensor w = empty({filters_, in_channels / options_.groups, kernel_size_});
  options_.kernel_initializer(w, generator());
  weight_ = register_parameter("weight", w);
  if (options_.use_bias) {
    Tensor b = empty({filters_});
    options_.bias_initializer(b, generator());
    bias_ = register_parameter("bias", b);
  }
}

void Conv1D::build(const Shape& input_shape) {
  if (built()) return;
  check_input_channels(input_shape, 3, weight_, options_.groups, "Conv1D", "(N,C,L)");
  create(input_shape[1]);
}

void Conv1D::build_from_state(const std::map<std::string, Tensor>& own) {
  auto it = own.find("weight");
  if (!built() && it != own.end() && it->second.dim() == 3) create(it->second.shape()[1] * options_.groups);
}

Tensor Conv1D::forward_then_pool(const Tensor& input, Module& pool) {
  return conv_then_pool<Pool1D>(*this, options_.activation, input, 3, pool, [&](const Pool1D& p) {
    return conv1d_relu_max_pool1d(input, weight_, bias_, options_.strides, padding_, options_.dilation_rate,
                                  options_.groups, p.pool_size(), p.strides());
  });
}

Shape Conv1D::output_shape(const Shape& input) const {
  check_input_channels(input, 3, weight_, options_.groups, "Conv1D", "(N,C,L)");
  return {input[0], filters_,
          detail::window_output_length(input[2], kernel_size_, options_.strides, options_.dilation_rate,
                                       options_.padding == "same")};
}

Tensor Conv1D::forward(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[Conv1D] input is undefined");
  build(input.shape());
  output_shape(input.shape());
  if (options_.activation == "relu")  // fused into the convolution kernel
    return conv1d_relu(input, weight_, bias_, options_.strides, padding_, options_.dilation_rate, options_.groups);
  Tensor y = conv1d(input, weight_, bias_, options_.strides, padding_, options_.dilation_rate, options_.groups);
  return apply_activation(options_.activation, y);
}

// ---- Conv2D

Conv2D::Conv2D(int64_t filters, std::array<int64_t, 2> kernel_size, Conv2DOptions options)
    : filters_(filters),
      kernel_size_(kernel_size),
      options_(std::move(options)),
      padding_(detail::parse_padding(options_.padding, "Conv2D")) {
  check_positive(filters, "filters", "Conv2D");
  for (int i = 0; i < 2; ++i) {
    check_positive(kernel_size[i], "kernel_size", "Conv2D");
    check_positive(options_.strides[i], "strides", "Conv2D");
    check_positive(options_.dilation_rate[i], "dilation_rate", "Conv2D");
  }
  check_positive(options_.groups, "groups", "Conv2D");
  FORGE_CHECK(filters % options_.groups == 0, "[Conv2D] filters ({}) must be divisible by groups ({})", filters,
              options_.groups);
  check_activation(options_.activation, "Conv2D");
  if (options_.in_channels > 0) create(options_.in_channels);
}

void Conv2D::create(int64_t in_channels) {
  FORGE_CHECK(in_channels % options_.groups == 0, "[Conv2D] input channels ({}) must be divisible by groups ({})",
              in_channels, options_.groups);
  Tensor w = empty({filters_, in_channels / options_.groups, kernel_size_[0], kernel_size_[1]});
  options_.kernel_initializer(w, generator());
  weight_ = register_parameter("weight", w);
  if (options_.use_bias) {
    Tensor b = empty({filters_});
    options_.bias_initializer(b, generator());
    bias_ = register_parameter("bias", b);
  }
}

void Conv2D::build(const Shape& input_shape) {
  if (built()) return;
  check_input_channels(input_shape, 4, weight_, options_.groups, "Conv2D", "(N,C,H,W)");
  create(input_shape[1]);
}

void Conv2D::build_from_state(const std::map<std::string, Tensor>& own) {
  auto it = own.find("weight");
  if (!built() && it != own.end() && it->second.dim() == 4) create(it->second.shape()[1] * options_.groups);
}

Shape Conv2D::output_shape(const Shape& input) const {
  check_input_channels(input, 4, weight_, options_.groups, "Conv2D", "(N,C,H,W)");
  const bool same = options_.padding == "same";
  return {
      input[0], filters_,
      detail::window_output_length(input[2], kernel_size_[0], options_.strides[0], options_.dilation_rate[0], same),
      detail::window_output_length(input[3], kernel_size_[1], options_.strides[1], options_.dilation_rate[1], same)};
}

Tensor Conv2D::forward(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[Conv2D] input is undefined");
  build(input.shape());
  output_shape(input.shape());
  if (options_.activation == "relu")  // fused into the convolution kernel
    return conv2d_relu(input, weight_, bias_, options_.strides, padding_, options_.dilation_rate, options_.groups);
  Tensor y = conv2d(input, weight_, bias_, options_.strides, padding_, options_.dilation_rate, options_.groups);
  return apply_activation(options_.activation, y);
}

Tensor Conv2D::forward_then_pool(const Tensor& input, Module& pool) {
  return conv_then_pool<Pool2D>(*this, options_.activation, input, 4, pool, [&](const Pool2D& p) {
    return conv2d_relu_max_pool2d(input, weight_, bias_, options_.strides, padding_, options_.dilation_rate,
                                  options_.groups, p.pool_size(), p.strides());
  });
}

}  // namespace forge::nn
