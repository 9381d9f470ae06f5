#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "backend/cpu/expf_exact.h"
#include "core/parallel.h"

namespace forge::cpu {

void attention_softmax(const float* in, float* out, int64_t rows, int64_t cols, int64_t q_len, bool causal,
                       int64_t offset) {
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1));
  const uint64_t* tab = expf_detail::table().t;
  parallel_for(0, rows, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* x = in + r * cols;
      float* y = out + r * cols;
      const int64_t visible = causal ? std::clamp<int64_t>(r % q_len + offset + 1, 0, cols) : cols;
      float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
      for (int64_t j = 0; j < visible; ++j) m = x[j] > m ? x[j] : m;
      // e^(x - m) with expf_exact (bit-identical to std::exp, vectorizable; libm's expf was a
      // call per score) unless a difference is outside its range (then libm for the row).
      int64_t outside = 0;
#pragma omp simd reduction(+ : outside)
      for (int64_t j = 0; j < visible; ++j) outside += expf_exact_in_range(x[j] - m) ? 0 : 1;
      if (outside == 0) {
#pragma omp simd
        for (int64_t j = 0; j < visible; ++j) y[j] = expf_exact(x[j] - m, tab);
      } else {
        for (int64_t j = 0; j < visible; ++j) y[j] = std::exp(x[j] - m);
      }
      float total = 0.0f;  // sequential: the same rounding as before
      for (int64_t j = 0; j < visible; ++j) total += y[j];
      const float inv = 1.0f / total;
      for (int64_t j = 0; j < visible; ++j) y[j] *= inv;
      std::fill(y + visible, y + cols, 0.0f);
    }
  });
}

}  // namespace forge::cpu
