#pragma once
// Fused softmax / log_softmax kernels. The reduced axis sits in the middle of a contiguous
// [outer, n, inner] block, so the last axis (inner == 1) and any other axis need no copy.
#include <cstdint>

namespace forge::cpu {

// y = softmax(x) (or log_softmax when `log`) along the middle axis of [outer, n, inner].
// Max-shifted, sums accumulated in double. x and y are contiguous and may not alias.
void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log);

}  // namespace forge::cpu
