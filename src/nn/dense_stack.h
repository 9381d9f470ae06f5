#pragma once
// Inference fast path for stacks of Dense layers (MLPs) on a few rows.
//
// Under no-grad with float32 math, Sequential::forward hands a network made only of built
// Dense layers to dense_stack_forward: the layers' matrix-vector products run back to back
// through per-thread scratch buffers, skipping the per-layer tensor creation, validation and
// dispatch of the ordinary path. Only the returned output is a new tensor. The result equals
// the ordinary per-layer path bit for bit (same GEMV kernel, same order of operations), and
// weights are read on every call, so in-place updates (a training step, load_state) show up
// in the next call without any cache to invalidate.
#include <cstdint>

#include "core/tensor.h"

namespace forge::nn {

class Sequential;

// At most this many rows (product of the leading axes) take the fast path; more rows use
// the ordinary path, whose GEMM is faster there.
constexpr int64_t kDenseStackMaxRows = 4;

// The output of `net` on `input` through the fast path, or an undefined tensor when the path
// does not apply: grad mode on, bf16 math, more than kDenseStackMaxRows rows, an empty
// network, a layer that is not a built Dense (exact type), a hidden layer whose activation is
// not "linear" or "relu" (the last layer may have any activation), a non-float32 or
// non-contiguous input, weight or bias, or a feature count that does not match (the ordinary
// path then reports the error). Thread-safe: the scratch buffers are thread_local.
Tensor dense_stack_forward(const Sequential& net, const Tensor& input);

}  // namespace forge::nn
