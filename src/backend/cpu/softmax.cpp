#include "backend/cpu/softmax.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/parallel.h"

namespace forge::cpu {

namespace {

// One contiguous row: the common case (softmax over the last axis).
void softmax_row(const float* x, float* y, int64_t n, bool log) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  double s = 0;
  if (log) {
    for (int64_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
    const float shift = static_cast<float>(std::log(s));
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) - shift;
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const float e = std::exp(x[i] - m);
    y[i] = e;
    s += e;
  }
  const float inv = static_cast<float>(1.0 / s);
  for (int64_t i = 0; i < n; ++i) y[i] *= inv;
}

// One [n, inner] block reduced over n: walks rows of `inner` contiguous values so every
// pass streams memory; max/sum are kept per inner position.
void softmax_block(const float* x, float* y, int64_t n, int64_t inner, bool log, std::vector<float>& m,
                   std::vector<double>& s) {
  std::fill(m.begin(), m.end(), -std::numeric_limits<float>::infinity());
  std::fill(s.begin(), s.end(), 0.0);
  for (int64_t r = 0; r < n; ++r) {
    const float* row = x + r * inner;
    for (int64_t j = 0; j < inner; ++j) m[static_cast<size_t>(j)] = std::max(m[static_cast<size_t>(j)], row[j]);
  }
  for (int64_t r = 0; r < n; ++r) {
    const float* row = x + r * inner;
    float* out = y + r * inner;
    for (int64_t j = 0; j < inner; ++j) {
      const float e = std::exp(row[j] - m[static_cast<size_t>(j)]);
      if (!log) out[j] = e;
      s[static_cast<size_t>(j)] += e;
    }
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
