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

// LayerNorm over rows of n with the forward's saved mean/rstd: x_hat = (x - mean) * rstd,
// gx = rstd * (gh - mean(gh) - x_hat * mean(gh * x_hat)) with gh = g * w (w may be null);
// gw += sum over rows of g * x_hat, gb += sum over rows of g. Any of gx, gw, gb may be null.
void layer_norm_backward(const float* x, const float* g, const float* w, const float* mean, const float* rstd,
                         int64_t rows, int64_t n, float* gx, float* gw, float* gb);

}  // namespace forge::cpu
