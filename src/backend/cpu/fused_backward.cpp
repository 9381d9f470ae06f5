#include "backend/cpu/fused_backward.h"

#include <cmath>
#include <vector>

#include "backend/cpu/gelu.h"
#include "backend/cpu/vec_math.h"
#include "core/parallel.h"

namespace forge::cpu {

void gelu_backward(const float* x, const float* g, float* gx, int64_t n) {
  constexpr float kInvSqrt2Pi = 0.39894228040143268f;
  parallel_for(0, n, 1 << 14, [&](int64_t begin, int64_t end) {
    normal_cdf(x + begin, gx + begin, end - begin);  // Phi (AVX2 erf)
    // Restrict locals: through the captured pointers GCC could not rule out aliasing and left
    // this loop scalar.
    const float* __restrict xs = x + begin;
    const float* __restrict gs = g + begin;
    float* __restrict out = gx + begin;
    const int64_t m = end - begin;
    for (int64_t i = 0; i < m; ++i) {
      const float v = xs[i];
      out[i] = gs[i] * (out[i] + v * kInvSqrt2Pi * exp_approx(-0.5f * v * v));  // vectorized pass
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

void layer_norm_backward(const float* x, const float* g, const float* w, const float* mean, const float* rstd,
                         int64_t rows, int64_t n, float* gx, float* gw, float* gb) {
  std::vector<float> xh(static_cast<size_t>(n)), gh(static_cast<size_t>(n));
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    const float* gr = g + r * n;
    const float m = mean[r], rs = rstd[r];
    float sum_gh = 0.0f, sum_ghxh = 0.0f;
    for (int64_t i = 0; i < n; ++i) {
      const float xhat = (xr[i] - m) * rs;
      const float ghi = w ? gr[i] * w[i] : gr[i];
      xh[static_cast<size_t>(i)] = xhat;
      gh[static_cast<size_t>(i)] = ghi;
      sum_gh += ghi;
      sum_ghxh += ghi * xhat;
    }
    if (gx) {
      const float mg = sum_gh * inv_n, mgx = sum_ghxh * inv_n;
      float* o = gx + r * n;
      for (int64_t i = 0; i < n; ++i) {
        o[i] = rs * (gh[static_cast<size_t>(i)] - mg - xh[static_cast<size_t>(i)] * mgx);
      }
    }
    if (gw) {
      for (int64_t i = 0; i < n; ++i) gw[i] += gr[i] * xh[static_cast<size_t>(i)];
    }
    if (gb) {
      for (int64_t i = 0; i < n; ++i) gb[i] += gr[i];
    }
  }
}

}  // namespace forge::cpu
