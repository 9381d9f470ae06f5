#include "backend/cpu/loss.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"

namespace forge::cpu {

namespace {
// Rows per parallel chunk: aim for ~32K elements of work per chunk.
int64_t row_grain(int64_t classes) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, classes)); }
}  // namespace

void sparse_softmax_xent_forward(const float* logits, const int64_t* labels, const float* weight, int64_t rows,
                                 int64_t classes, float* loss, float* lse) {
  parallel_for(0, rows, row_grain(classes), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float* x = logits + i * classes;
      float m = x[0];
      for (int64_t c = 1; c < classes; ++c) m = std::max(m, x[c]);
      // A row of all -inf has no finite maximum; shift by 0 so it yields inf instead of nan.
      if (std::isinf(m)) m = 0.0f;
      double s = 0;
      for (int64_t c = 0; c < classes; ++c) s += std::exp(static_cast<double>(x[c] - m));
      const float row_lse = m + static_cast<float>(std::log(s));
      lse[i] = row_lse;
      const float w = weight != nullptr ? weight[i] : 1.0f;
      loss[i] = w * (row_lse - x[labels[i]]);
    }
  });
}

void sparse_softmax_xent_backward(const float* logits, const int64_t* labels, const float* weight, const float* lse,
                                  const float* grad_loss, int64_t rows, int64_t classes, float* grad_logits) {
  parallel_for(0, rows, row_grain(classes), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float* x = logits + i * classes;
      float* g = grad_logits + i * classes;
      const float scale = grad_loss[i] * (weight != nullptr ? weight[i] : 1.0f);
      const float shift = lse[i];
      for (int64_t c = 0; c < classes; ++c) g[c] = scale * std::exp(x[c] - shift);
      g[labels[i]] -= scale;
    }
  });
}

void sigmoid_xent_forward(const float* logits, const float* target, int64_t n, float* loss) {
  parallel_for(0, n, 32768, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float x = logits[i];
      loss[i] = std::max(x, 0.0f) - x * target[i] + std::log1p(std::exp(-std::fabs(x)));
    }
  });
}

}  // namespace forge::cpu
