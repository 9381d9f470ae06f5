#include "backend/cpu/loss.h"

#include <algorithm>
#include <cmath>

#include "backend/cpu/vec_math.h"
#include "core/parallel.h"

namespace forge::cpu {

namespace {
// Rows per parallel chunk: aim for ~32K elements of work per chunk.
int64_t row_grain(int64_t classes) { return std::max<int64_t>(1, 32768 / std::max<int64_t>(1, classes)); }

// Independent lanes let the compiler vectorize the max / sum reductions (float reductions
// are not reassociated without -ffast-math).
constexpr int64_t kLanes = 16;

float row_max(const float* x, int64_t n) {
  float lanes[kLanes];
  for (int64_t j = 0; j < kLanes; ++j) lanes[j] = x[0];
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] = x[c + j] > lanes[j] ? x[c + j] : lanes[j];
  }
  float m = lanes[0];
  for (int64_t j = 1; j < kLanes; ++j) m = std::max(m, lanes[j]);
  for (; c < n; ++c) m = std::max(m, x[c]);
  return m;
}

// sum_c exp(x[c] - shift), accumulated per lane in float and combined in double.
double row_sum_exp(const float* x, int64_t n, float shift) {
  float lanes[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes) {
    for (int64_t j = 0; j < kLanes; ++j) lanes[j] += exp_approx(x[c + j] - shift);
  }
  double s = 0;
  for (int64_t j = 0; j < kLanes; ++j) s += lanes[j];
  for (; c < n; ++c) s += exp_approx(x[c] - shift);
  return s;
}
}  // namespace

void sparse_softmax_xent_forward(const float* logits, const int64_t* labels, const float* weight, int64_t rows,
                                 int64_t classes, float* loss, float* lse) {
  parallel_for(0, rows, row_grain(classes), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float* x = logits + i * classes;
      float m = row_max(x, classes);
      // A row of all -inf has no finite maximum; shift by 0 so it yields inf instead of nan.
      if (std::isinf(m)) m = 0.0f;
      const double s = row_sum_exp(x, classes, m);
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
      for (int64_t c = 0; c < classes; ++c) g[c] = scale * exp_approx(x[c] - shift);
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
