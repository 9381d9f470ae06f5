#pragma once
// Shape ops. reshape/permute/transpose/slice/select/squeeze/unsqueeze/expand/flatten return
// views that share storage (no copy) whenever the strides allow; reshape of a non-contiguous
// tensor copies. All are differentiable. The Tensor methods of the same names call these.
#include "core/tensor.h"

namespace forge {

Tensor reshape(const Tensor& x, const Shape& shape);  // one -1 is inferred
Tensor view(const Tensor& x, const Shape& shape);     // throws instead of copying
Tensor permute(const Tensor& x, const Shape& axes);
Tensor transpose(const Tensor& x, int64_t a, int64_t b);
// Python-style slice along one axis: start/end may be negative and are clamped; step >= 1.
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& x, int64_t axis, int64_t index);
Tensor squeeze(const Tensor& x, int64_t axis);
Tensor unsqueeze(const Tensor& x, int64_t axis);
// Broadcasts size-1 axes (and new leading axes) to `shape`; -1 keeps an axis' size.
Tensor expand(const Tensor& x, const Shape& shape);
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);
Tensor contiguous(const Tensor& x);

}  // namespace forge
