#pragma once
// Fused optimizer updates: one pass over each parameter's memory, no temporaries. Each
// follows the PyTorch 1.13 single-tensor update rule (torch/optim/*.py) exactly; coefficients
// that depend on the step are computed by the caller in double.
#include <cstdint>

namespace forge::cpu {

struct SgdCoeffs {
  float lr = 0, weight_decay = 0, momentum = 0, dampening = 0;
  bool nesterov = false;
  bool first = false;  // the momentum buffer starts as a copy of the gradient
};
// buf is null when momentum == 0.
void sgd_update(float* param, const float* grad, float* buf, int64_t n, const SgdCoeffs& c);

struct AdamCoeffs {
  float step_size = 0;  // lr / (1 - beta1^t)
  float beta1 = 0, beta2 = 0;
  float bias_correction2_sqrt = 1;  // sqrt(1 - beta2^t)
  float eps = 0;
  float l2 = 0;     // Adam: weight_decay added to the gradient
  float decay = 1;  // AdamW: the parameter is first multiplied by 1 - lr * weight_decay
};
// max_exp_avg_sq is non-null only with amsgrad.
void adam_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, float* max_exp_avg_sq, int64_t n,
                 const AdamCoeffs& c);

struct RmspropCoeffs {
  float lr = 0, alpha = 0, eps = 0, weight_decay = 0, momentum = 0;
};
// grad_avg is non-null only when centered, buf only when momentum > 0.
void rmsprop_update(float* param, const float* grad, float* square_avg, float* grad_avg, float* buf, int64_t n,
                    const RmspropCoeffs& c);

struct AdagradCoeffs {
  float clr = 0;  // lr / (1 + (t - 1) * lr_decay)
  float eps = 0, weight_decay = 0;
};
void adagrad_update(float* param, const float* grad, float* sum, int64_t n, const AdagradCoeffs& c);

}  // namespace forge::cpu
