#include "backend/cpu/optim.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "backend/cpu/vec_math.h"
#include "core/parallel.h"

namespace forge::cpu {

namespace {
constexpr int64_t kGrain = 32768;

// Option flags become template parameters so each variant's loop has no branches and
// vectorizes (sqrt via sqrt_nonneg for the same reason).
template <bool kMomentum, bool kNesterov, bool kFirst>
void sgd_loop(float* __restrict param, const float* __restrict grad, float* __restrict buf, int64_t lo, int64_t hi,
              const SgdCoeffs& c) {
  const float lr = c.lr, weight_decay = c.weight_decay, momentum = c.momentum, keep = 1.0f - c.dampening;
  for (int64_t i = lo; i < hi; ++i) {
    const float d = grad[i] + weight_decay * param[i];
    if constexpr (!kMomentum) {
      param[i] -= lr * d;
    } else {
      const float b = kFirst ? d : momentum * buf[i] + keep * d;
      buf[i] = b;
      param[i] -= lr * (kNesterov ? d + momentum * b : b);
    }
  }
}

template <bool kAmsgrad>
void adam_loop(float* __restrict param, const float* __restrict grad, float* __restrict exp_avg,
               float* __restrict exp_avg_sq, float* __restrict max_exp_avg_sq, int64_t lo, int64_t hi,
               const AdamCoeffs& c) {
  const float beta1 = c.beta1, beta2 = c.beta2, one_minus_beta1 = 1.0f - c.beta1, one_minus_beta2 = 1.0f - c.beta2;
  const float decay = c.decay, l2 = c.l2, step_size = c.step_size, bc2 = c.bias_correction2_sqrt, eps = c.eps;
  int64_t i = lo;
#if defined(__AVX2__) && defined(__FMA__)
  // GCC leaves the loop below scalar (it branches on sqrt_nonneg's selects), which made Adam
  // most of a text-CNN step (160k embedding parameters); 8 lanes with the hardware sqrt.
  if constexpr (!kAmsgrad) {
    const __m256 vdecay = _mm256_set1_ps(decay), vl2 = _mm256_set1_ps(l2), vb1 = _mm256_set1_ps(beta1),
                 vb2 = _mm256_set1_ps(beta2), v1b1 = _mm256_set1_ps(one_minus_beta1),
                 v1b2 = _mm256_set1_ps(one_minus_beta2), vbc2 = _mm256_set1_ps(bc2), veps = _mm256_set1_ps(eps),
                 vstep = _mm256_set1_ps(step_size);
    for (; i + 8 <= hi; i += 8) {
      const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(param + i), vdecay);
      const __m256 g = _mm256_fmadd_ps(vl2, p, _mm256_loadu_ps(grad + i));
      const __m256 m = _mm256_fmadd_ps(vb1, _mm256_loadu_ps(exp_avg + i), _mm256_mul_ps(v1b1, g));
      const __m256 v = _mm256_fmadd_ps(vb2, _mm256_loadu_ps(exp_avg_sq + i), _mm256_mul_ps(_mm256_mul_ps(v1b2, g), g));
      _mm256_storeu_ps(exp_avg + i, m);
      _mm256_storeu_ps(exp_avg_sq + i, v);
      const __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(v), vbc2), veps);
      _mm256_storeu_ps(param + i, _mm256_sub_ps(p, _mm256_div_ps(_mm256_mul_ps(vstep, m), denom)));
    }
  }
#endif
  for (; i < hi; ++i) {
    const float p = param[i] * decay;
    const float g = grad[i] + l2 * p;
    const float m = beta1 * exp_avg[i] + one_minus_beta1 * g;
    const float v = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    float v_used = v;
    if constexpr (kAmsgrad) {
      v_used = max_exp_avg_sq[i] > v ? max_exp_avg_sq[i] : v;
      max_exp_avg_sq[i] = v_used;
    }
    const float denom = sqrt_nonneg(v_used) / bc2 + eps;
    param[i] = p - step_size * m / denom;
  }
}

template <bool kCentered, bool kMomentum>
void rmsprop_loop(float* __restrict param, const float* __restrict grad, float* __restrict square_avg,
                  float* __restrict grad_avg, float* __restrict buf, int64_t lo, int64_t hi, const RmspropCoeffs& c) {
  const float lr = c.lr, alpha = c.alpha, one_minus_alpha = 1.0f - c.alpha, eps = c.eps;
  const float weight_decay = c.weight_decay, momentum = c.momentum;
  for (int64_t i = lo; i < hi; ++i) {
    const float g = grad[i] + weight_decay * param[i];
    const float sq = alpha * square_avg[i] + one_minus_alpha * g * g;
    square_avg[i] = sq;
    float var = sq;
    if constexpr (kCentered) {
      const float ga = alpha * grad_avg[i] + one_minus_alpha * g;
      grad_avg[i] = ga;
      // sq - ga^2 >= 0 in exact arithmetic; rounding may dip below 0 (torch then yields NaN).
      var = sq - ga * ga;
    }
    const float avg = sqrt_nonneg(var) + eps;
    if constexpr (kMomentum) {
      const float b = momentum * buf[i] + g / avg;
      buf[i] = b;
      param[i] -= lr * b;
    } else {
      param[i] -= lr * g / avg;
    }
  }
}
}  // namespace

void sgd_update(float* param, const float* grad, float* buf, int64_t n, const SgdCoeffs& c) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    if (buf == nullptr) {
      sgd_loop<false, false, false>(param, grad, buf, lo, hi, c);
    } else if (c.first) {
      c.nesterov ? sgd_loop<true, true, true>(param, grad, buf, lo, hi, c)
                 : sgd_loop<true, false, true>(param, grad, buf, lo, hi, c);
    } else {
      c.nesterov ? sgd_loop<true, true, false>(param, grad, buf, lo, hi, c)
                 : sgd_loop<true, false, false>(param, grad, buf, lo, hi, c);
    }
  });
}

void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq, int64_t n,
                 const AdamCoeffs& c) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    if (max_exp_avg_sq != nullptr) {
      adam_loop<true>(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lo, hi, c);
    } else {
      adam_loop<false>(param, grad, exp_avg, exp_avg_sq, nullptr, lo, hi, c);
    }
  });
}

void rmsprop_update(float* param, const float* grad, float* square_avg, float* grad_avg, float* buf, int64_t n,
                    const RmspropCoeffs& c) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    if (grad_avg != nullptr) {
      buf != nullptr ? rmsprop_loop<true, true>(param, grad, square_avg, grad_avg, buf, lo, hi, c)
                     : rmsprop_loop<true, false>(param, grad, square_avg, grad_avg, buf, lo, hi, c);
    } else {
      buf != nullptr ? rmsprop_loop<false, true>(param, grad, square_avg, grad_avg, buf, lo, hi, c)
                     : rmsprop_loop<false, false>(param, grad, square_avg, grad_avg, buf, lo, hi, c);
    }
  });
}

namespace {
void adagrad_loop(float* __restrict param, const float* __restrict grad, float* __restrict sum, int64_t lo, int64_t hi,
                  const AdagradCoeffs& c) {
  const float clr = c.clr, eps = c.eps, weight_decay = c.weight_decay;
  for (int64_t i = lo; i < hi; ++i) {
    const float g = grad[i] + weight_decay * param[i];
    const float s = sum[i] + g * g;
    sum[i] = s;
    param[i] -= clr * g / (sqrt_nonneg(s) + eps);
  }
}
}  // namespace

void adagrad_update(float* param, const float* grad, float* sum, int64_t n, const AdagradCoeffs& c) {
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) { adagrad_loop(param, grad, sum, lo, hi, c); });
}

}  // namespace forge::cpu
