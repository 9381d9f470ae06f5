#pragma once
// Pooling over the spatial axes of [N, C, L] / [N, C, H, W] tensors.
//
// stride = 0 (the default) means stride = kernel. Padding (see ops/conv.h):
//  - valid: windows lie inside the input.
//  - same:  Keras semantics, out = ceil(in / stride), extra padding on the end side.
//  - explicit_: symmetric padding p per spatial axis (like PyTorch), p <= kernel / 2.
// Padded positions never win a max and are excluded from an average (Keras; PyTorch's
// count_include_pad=False). Max pooling sends the gradient to the first maximum of each
// window (like PyTorch); a NaN in a window wins.
#include <array>
#include <cstdint>

#include "core/tensor.h"
#include "ops/conv.h"

namespace forge {

// [N, C, L] -> [N, C, L_out]
Tensor max_pool1d(const Tensor& input, int64_t kernel, int64_t stride = 0, const Padding& padding = Padding::valid());
Tensor avg_pool1d(const Tensor& input, int64_t kernel, int64_t stride = 0, const Padding& padding = Padding::valid());
// [N, C, H, W] -> [N, C, H_out, W_out]
Tensor max_pool2d(const Tensor& input, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride = {0, 0},
                  const Padding& padding = Padding::valid());
Tensor avg_pool2d(const Tensor& input, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride = {0, 0},
                  const Padding& padding = Padding::valid());

// The adjoint of max pooling given where each window's maximum was: grad_output [N, C, OH, OW]
// added at `indices` (i64, the plane position h * W + w of each maximum) into a zero tensor of
// `input_shape` [N, C, H, W]. Differentiable (its gradient gathers at the same positions).
Tensor max_unpool2d(const Tensor& grad_output, const Tensor& indices, const Shape& input_shape);

// Pooling over all spatial positions: [N, C, L] -> [N, C] and [N, C, H, W] -> [N, C].
// The max variants share the gradient equally among tied maxima (they are max() reductions).
Tensor global_max_pool1d(const Tensor& input);
Tensor global_avg_pool1d(const Tensor& input);
Tensor global_max_pool2d(const Tensor& input);
Tensor global_avg_pool2d(const Tensor& input);

}  // namespace forge
