#pragma once
#include "core/tensor.h"

namespace forge {

// Reverse-mode pass from `root` (see Tensor::backward). Gradients accumulate into the
// .grad of leaf tensors that require grad.
void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph, bool create_graph);

}  // namespace forge
