#include "backend/cpu/softmax.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/parallel.h"

namespace forge::cpu {

namespace {

// exp for x <= 0 (softmax shifts by the max), branch-free so the row loops vectorize; glibc's
// scalar expf was ~8x slower here. Cephes' range reduction x = n*ln2 + r and degree-6
// polynomial: within 2 ulp of expf. exp(-inf) and anything below FLT_MIN's log give 0; NaN stays NaN.
inline float exp_nonpositive(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kMinArg = -87.3365447505531f;  // log(FLT_MIN): the result stays normal
  const float xc = std::max(x, kMinArg);
  const float n = (xc * kLog2e + 12582912.0f) - 12582912.0f;  // round to nearest (1.5 * 2^23 trick)
  const float r = xc - n * kLn2Hi - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>(static_cast<int32_t>((static_cast<int32_t>(n) + 127) << 23));
  const float y = e * scale;
  return x < kMinArg ? 0.0f : (x != x ? x : y);
}

// One contiguous row: the common case (softmax over the last axis). The exp pass and the
// double-precision sum are separate loops: fused, GCC does not vectorize the exp.
void softmax_row(const float* __restrict x, float* __restrict y, int64_t n, bool log) {
  float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  for (int64_t i = 0; i < n; ++i) y[i] = exp_nonpositive(x[i] - m);
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += y[i];
  if (log) {
    const float shift = static_cast<float>(std::log(s));
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - shift;
    return;
  }
  const float inv = static_cast<float>(1.0 / s);
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

// One [n, inner] block reduced over n: walks rows of `inner` contiguous values so every
// pass streams memory; max/sum are kept per inner position.
void softmax_block(const float* __restrict x, float* __restrict y, int64_t n, int64_t inner, bool log,
                   std::vector<float>& m, std::vector<double>& s) {
  std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
  std::fill(s.begin(), s.end(), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    const float* row = x + r * inner;
    for (int64_t j = 0; j < inner; ++j) m[static_cast<size_t>(j)] = std::max(m[static_cast<size_t>(j)], row[j]);
  }
  for (int64_t r = 0; r < n; ++r) {
    const float* row = x + r * inner;
    float* out = y + r * inner;
    const float* mj = m.data();
    double* sj = s.data();
    // exp first, then the sums (y holds exp for now; log_softmax overwrites it below).
    for (int64_t j = 0; j < inner; ++j) out[j] = exp_nonpositive(row[j] - mj[j]);
    for (int64_t j = 0; j < inner; ++j) sj[j] += out[j];
  }
  for (int64_t j = 0; j < inner; ++j) {
    const size_t sj = static_cast<size_t>(j);
    s[sj] = log ? std::log(s[sj]) : 1.0 / s[sj];
  }
  for (int64_t r = 0; r < n; ++r) {
    const float* row = x + r * inner;
    float* out = y + r * inner;
    for (int64_t j = 0; j < inner; ++j) {
      const size_t sj = static_cast<size_t>(j);
      out[j] = log ? (row[j] - m[sj]) - static_cast<float>(s[sj]) : out[j] * static_cast<float>(s[sj]);
    }
  }
}

}  // namespace

void softmax_forward(const float* x, float* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  if (n == 0) return;
  const int64_t block = n * inner;
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, block));
  if (inner == 1) {
    parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
      for (int64_t o = lo; o < hi; ++o) softmax_row(x + o * n, y + o * n, n, log);
    });
    return;
  }
  parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
    std::vector<float> m(static_cast<size_t>(inner));
    std::vector<double> s(static_cast<size_t>(inner));
    for (int64_t o = lo; o < hi; ++o) softmax_block(x + o * block, y + o * block, n, inner, log, m, s);
  });
}

}  // namespace forge::cpu
