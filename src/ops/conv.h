#pragma once
// Convolutions (PyTorch layouts: input [N, C, L] / [N, C, H, W], weight [C_out, C_in/groups, K...]).
//
// Padding:
//  - valid:     no padding; out = floor((in - (k-1)*dilation - 1) / stride) + 1.
//  - same:      TensorFlow/Keras semantics: out = ceil(in / stride); the total padding
//               max((out-1)*stride + (k-1)*dilation + 1 - in, 0) is split with the extra
//               element on the end side (bottom/right), so it may be asymmetric.
//  - explicit_: symmetric zero padding, one value per spatial axis (like PyTorch's padding=p);
//               for conv2d a single value applies to both axes.
// Errors name the op and the offending values, e.g.
// "[conv2d] input has 3 channels but weight (32,1,3,3) expects 1 (groups=1)".
#include <array>
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace forge {

struct Padding {
  enum class Kind { kValid, kSame, kExplicit } kind = Kind::kValid;
  std::vector<int64_t> values;  // explicit: one per spatial dim (symmetric)

  static Padding valid() { return Padding{}; }
  static Padding same() { return Padding{Kind::kSame, {}}; }
  static Padding explicit_(std::vector<int64_t> v) { return Padding{Kind::kExplicit, std::move(v)}; }
};

// input [N, C_in, L], weight [C_out, C_in/groups, K], bias [C_out] (optional) -> [N, C_out, L_out].
// Runs as conv2d with H = 1.
Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              const Padding& padding = Padding::valid(), int64_t dilation = 1, int64_t groups = 1);

// input [N, C_in, H, W], weight [C_out, C_in/groups, KH, KW], bias [C_out] (optional)
// -> [N, C_out, H_out, W_out]. Cross-correlation like PyTorch (the kernel is not flipped).
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
              std::array<int64_t, 2> stride = {1, 1}, const Padding& padding = Padding::valid(),
              std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1);

// relu(conv1d(...)) and relu(conv2d(...)) fused: the relu runs inside the convolution kernel
// (a oneDNN post-op) and the backward masks the gradient in one pass. Same values, gradients
// and errors (named "conv1d_relu" / "conv2d_relu") as the composition.
Tensor conv1d_relu(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
                   const Padding& padding = Padding::valid(), int64_t dilation = 1, int64_t groups = 1);
Tensor conv2d_relu(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                   std::array<int64_t, 2> stride = {1, 1}, const Padding& padding = Padding::valid(),
                   std::array<int64_t, 2> dilation = {1, 1}, int64_t groups = 1);

// max_pool2d(conv2d_relu(input, weight, bias, stride, padding, dilation, groups), pool_kernel,
// pool_stride) (valid pooling windows; pool_stride 0 = pool_kernel) in one op: the full-size
// convolution output stays in the layout oneDNN's kernel writes (nChw8c / nChw16c), is pooled
// there, and its gradient goes back through the pooling, the relu and the convolution in that
// layout, without the NCHW copies the composition makes. Same values and gradients (any order)
// as the composition, which it runs where that layout does not apply (bf16, no bias, channel
// counts that are not a multiple of the block).
Tensor conv2d_relu_max_pool2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                              std::array<int64_t, 2> stride, const Padding& padding, std::array<int64_t, 2> dilation,
                              int64_t groups, std::array<int64_t, 2> pool_kernel,
                              std::array<int64_t, 2> pool_stride = {0, 0});

// The same for [N, C, L] inputs: max_pool1d(conv1d_relu(...), pool, pool_stride) in one op
// (run as the 2-D op with H = 1).
Tensor conv1d_relu_max_pool1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
                              const Padding& padding, int64_t dilation, int64_t groups, int64_t pool,
                              int64_t pool_stride = 0);

// The two halves of conv2d's gradient, as differentiable ops (conv2d's backward rule uses
// them; their own backward rules use conv2d and each other, so any order of derivative works).
// Arguments are those of the forward call; grad_output has the forward output's shape.
// Gradient w.r.t. the input: [N, C_in, H, W] = input_shape.
Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                             std::array<int64_t, 2> stride, const Padding& padding, std::array<int64_t, 2> dilation,
                             int64_t groups);
// Gradient w.r.t. the weight: [C_out, C_in/groups, KH, KW] = weight_shape.
Tensor conv2d_backward_weight(const Tensor& grad_output, const Tensor& input, const Shape& weight_shape,
                              std::array<int64_t, 2> stride, const Padding& padding, std::array<int64_t, 2> dilation,
                              int64_t groups);

}  // namespace forge
