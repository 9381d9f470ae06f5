#pragma once
// Matrix-vector products for single-row linear layers (batch-1 inference), where oneDNN's
// GEMM spends more time in setup than in arithmetic.
#include <cstdint>

namespace forge::cpu {

// y[j] = dot(x[0..k), w[j*ldw .. j*ldw+k)) (+ bias[j] when bias != nullptr), j < n.
// Rows of w are contiguous (PyTorch Linear layout [out, in]). AVX-512 when the CPU has it.
void gemv_rows(int64_t n, int64_t k, const float* x, const float* w, int64_t ldw, const float* bias, float* y);

}  // namespace forge::cpu
