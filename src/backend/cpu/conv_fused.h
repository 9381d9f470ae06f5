#pragma once
// Small fused kernels around convolutions.
#include <cstdint>

namespace forge::cpu {

// out[i] = y[i] > 0 ? grad[i] : 0 (the gradient through a relu whose output is y).
void relu_grad(const float* grad, const float* y, float* out, int64_t n);

}  // namespace forge::cpu
