#include "backend/cpu/fused_backward.h"

#include <cmath>

#include "backend/cpu/vec_math.h"
#include "core/parallel.h"

namespace forge::cpu {

void gelu_backward(const float* x, const float* g, float* gx, int64_t n) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  constexpr float kInvSqrt2Pi = 0.39894228040143268f;
  parallel_for(0, n, 1 << 14, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) gx[i] = 0.5f * (1.0f + std::erf(x[i] * kInvSqrt2));  // Phi
    for (int64_t i = begin; i < end; ++i) {
      const float v = x[i];
      gx[i] = g[i] * (gx[i] + v * kInvSqrt2Pi * exp_approx(-0.5f * v * v));  // vectorized pass
    }
  });
}

void softmax_backward(const float* p, const float* g, float* gx, int64_t rows, int64_t cols) {
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(cols, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* pr = p + r * cols;
      const float* gr = g + r * cols;
      float* o = gx + r * cols;
      float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
      for (int64_t j = 0; j < cols; ++j) dot += gr[j] * pr[j];
      for (int64_t j = 0; j < cols; ++j) o[j] = pr[j] * (gr[j] - dot);
    }
  });
}

}  // namespace forge::cpu
