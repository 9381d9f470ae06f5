#pragma once
// Inference fast path for small convolutional networks (the seed CNN) on a few images.
//
// Under no-grad with float32 math, Sequential::forward hands a network of the form
//   Conv2D (Conv2D | MaxPooling2D)* [Flatten Dense*]
// to conv_stack_forward. Each image runs through per-thread channels-last (NHWC) buffers:
// direct convolutions (backend/cpu/conv_direct.h) with fused bias + relu, Winograd F(4x4,3x3)
// (backend/cpu/winograd.h) for 3x3 convolutions with 8+ input channels where it saves work,
// dot products against the weight rows for maps of at most 16 output pixels, channels-last
// max-pooling, and matrix-vector products for the Dense layers. Only the returned output is
// a new tensor. Convolutions of ~100k+ multiply-adds split their pixels, output channels or
// Winograd GEMMs over the configured threads.
//
// Results equal the ordinary path up to rounding: the sums run in a different order (and
// Winograd transforms the operands), so values differ by a few ulps of the sum of |terms|
// (the tests allow 1e-4 relative to the output scale). Non-finite inputs may differ: the
// Winograd transforms subtract input values, so an infinity can become NaN, and relu maps NaN
// to 0 as linear_relu does.
//
// Packed weights (output channels contiguous, or Winograd-transformed) are cached per thread,
// keyed by the weight's address and validated on every call against a copy of the raw
// values, so in-place updates (an optimizer step, load_state) show up in the next call.
#include <cstdint>

#include "core/tensor.h"

namespace forge::nn {

class Sequential;

// At most this many images take the fast path; larger batches use the ordinary path.
constexpr int64_t kConvStackMaxBatch = 4;

// The output of `net` on `input` through the fast path, or an undefined tensor when the path
// does not apply: grad mode on, bf16 math, an input that is not a contiguous float32
// [N, C, H, W] with 1 <= N <= kConvStackMaxBatch, a first layer that is not Conv2D, a layer
// of another type (exact type), a Conv2D with strides, dilation or groups other than 1, an
// activation other than relu/linear (the last Dense may have any), padding other than
// valid/same, a convolution of more than 32M multiply-adds per image (oneDNN is faster
// there), a pool that is not a max pool with valid padding, a layer that is not built or
// whose weights are not contiguous float32, or shapes that do not match (the ordinary path
// then reports the error). Thread-safe: buffers and caches are thread_local.
Tensor conv_stack_forward(const Sequential& net, const Tensor& input);

}  // namespace forge::nn
