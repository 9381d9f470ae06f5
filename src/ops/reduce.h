#pragma once
// Reductions over axes. An empty axis list means "all axes". keepdims keeps reduced axes
// as size 1. Integer inputs are promoted to float32 (argmax/argmin accept any plain dtype).
#include "core/tensor.h"

namespace forge {

using Axes = std::vector<int64_t>;

Tensor sum(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// max/min values; the gradient is shared equally among tied maxima (like torch.amax).
Tensor max(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
Tensor min(const Tensor& x, const Axes& axes = {}, bool keepdims = false);
// Variance with Bessel's correction by default (correction = 1, like torch.var).
Tensor var(const Tensor& x, const Axes& axes = {}, bool keepdims = false, int64_t correction = 1);
// log(sum(exp(x))) computed stably.
Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims = false);
// Index of the first maximum / minimum along one axis (int64, no gradient).
Tensor argmax(const Tensor& x, int64_t axis, bool keepdims = false);
Tensor argmin(const Tensor& x, int64_t axis, bool keepdims = false);

// Sums a broadcast gradient back down to `shape` (the inverse of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace forge
