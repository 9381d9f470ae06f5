#pragma once
// Exact (erf) GELU kernels over contiguous float32: y = x * Phi(x), Phi(x) = (1 + erf(x/sqrt 2)) / 2.
// erf is cpu::erf_approx (vec_math.h, within 1.6 ulp of std::erf), eight lanes at a time with
// AVX2 + FMA; std::erf is a scalar libm call that made GELU a visible part of a GPT step.
#include <cstdint>

namespace forge::cpu {

// y[i] = x[i] * Phi(x[i]); y may equal x (in place).
void gelu_forward(const float* x, float* y, int64_t n);
// phi_cdf[i] = Phi(x[i]); out may equal x.
void normal_cdf(const float* x, float* out, int64_t n);

}  // namespace forge::cpu
