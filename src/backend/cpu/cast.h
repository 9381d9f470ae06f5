#pragma once
#include "core/tensor.h"

namespace forge::cpu {

// Sets every element of a (possibly strided) tensor to `value`.
void fill(const Tensor& dst, double value);
// Copies src into dst (same shape, any strides) converting dtype. Plain dtypes only.
void copy_cast(const Tensor& src, const Tensor& dst);

}  // namespace forge::cpu
