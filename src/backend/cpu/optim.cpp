#include "backend/cpu/optim.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"

namespace forge::cpu {

namespace {
constexpr int64_t kGrain = 32768;
}

void sgd_update(float* param, const float* grad, float* buf, int64_t n, const SgdCoeffs& c) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    if (buf == nullptr) {
      for (int64_t i = lo; i < hi; ++i) {
        const float d = grad[i] + c.weight_decay * param[i];
        param[i] -= c.lr * d;
      }
      return;
    }
    const float keep = 1.0f - c.dampening;
    for (int64_t i = lo; i < hi; ++i) {
      const float d = grad[i] + c.weight_decay * param[i];
      const float b = c.first ? d : c.momentum * buf[i] + keep * d;
      buf[i] = b;
      param[i] -= c.lr * (c.nesterov ? d + c.momentum * b : b);
    }
  });
}

void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq, int64_t n,
                 const AdamCoeffs& c) {
  const float one_minus_beta1 = 1.0f - c.beta1;
  const float one_minus_beta2 = 1.0f - c.beta2;
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float p = param[i] * c.decay;
      const float g = grad[i] + c.l2 * p;
      const float m = c.beta1 * exp_avg[i] + one_minus_beta1 * g;
      const float v = c.beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g;
      exp_avg[i] = m;
      exp_avg_sq[i] = v;
      float v_used = v;
      if (max_exp_avg_sq != nullptr) {
        v_used = std::max(max_exp_avg_sq[i], v);
        max_exp_avg_sq[i] = v_used;
      }
      const float denom = std::sqrt(v_used) / c.bias_correction2_sqrt + c.eps;
      param[i] = p - c.step_size * m / denom;
    }
  });
}

void rmsprop_update(float* param, const float* grad, float* square_avg, float* grad_avg, float* buf, int64_t n,
                    const RmspropCoeffs& c) {
  const float one_minus_alpha = 1.0f - c.alpha;
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float g = grad[i] + c.weight_decay * param[i];
      const float sq = c.alpha * square_avg[i] + one_minus_alpha * g * g;
      square_avg[i] = sq;
      float var = sq;
      if (grad_avg != nullptr) {
        const float ga = c.alpha * grad_avg[i] + one_minus_alpha * g;
        grad_avg[i] = ga;
        var = sq - ga * ga;
      }
      const float avg = std::sqrt(var) + c.eps;
      if (buf != nullptr) {
        const float b = c.momentum * buf[i] + g / avg;
        buf[i] = b;
        param[i] -= c.lr * b;
      } else {
        param[i] -= c.lr * g / avg;
      }
    }
  });
}

void adagrad_update(float* param, const float* grad, float* sum, int64_t n, const AdagradCoeffs& c) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const float g = grad[i] + c.weight_decay * param[i];
      const float s = sum[i] + g * g;
      sum[i] = s;
      param[i] -= c.clr * g / (std::sqrt(s) + c.eps);
    }
  });
}

}  // namespace forge::cpu
