#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"

namespace forge::cpu {

void attention_softmax(const float* in, float* out, int64_t rows, int64_t cols, int64_t q_len, bool causal,
                       int64_t offset) {
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1));
  parallel_for(0, rows, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* x = in + r * cols;
      float* y = out + r * cols;
      const int64_t visible = causal ? std::clamp<int64_t>(r % q_len + offset + 1, 0, cols) : cols;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < visible; ++j) m = std::max(m, x[j]);
      float total = 0.0f;
      for (int64_t j = 0; j < visible; ++j) {
        y[j] = std::exp(x[j] - m);
        total += y[j];
      }
      const float inv = 1.0f / total;
      for (int64_t j = 0; j < visible; ++j) y[j] *= inv;
      std::fill(y + visible, y + cols, 0.0f);
    }
  });
}

}  // namespace forge::cpu
