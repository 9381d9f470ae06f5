#pragma once
// Single-pass backward kernels for ops whose composed backward (a chain of public elementwise
// ops) costs several full passes and allocations over large activations. The ops use them
// when no higher-order graph is being built (grad mode off during backward).
#include <cstdint>

namespace forge::cpu {

// Exact (erf) GELU: gx[i] = g[i] * (Phi(x) + x * phi(x)), Phi the normal CDF, phi its density.
void gelu_backward(const float* x, const float* g, float* gx, int64_t n);

// Softmax over rows of `cols`: gx = p * (g - sum_j(g_j * p_j)) per row.
void softmax_backward(const float* p, const float* g, float* gx, int64_t rows, int64_t cols);

}  // namespace forge::cpu
