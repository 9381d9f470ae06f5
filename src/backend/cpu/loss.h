#pragma once
// Fused loss kernels (float32, contiguous). The ops in nn/loss.cpp validate and record the
// backward rules; these only compute.
#include <cstdint>

namespace forge::cpu {

// Per-row softmax cross entropy on logits [rows, classes] with integer labels:
//   lse[i] = log(sum_c exp(x[i,c])),  loss[i] = weight[i] * (lse[i] - x[i, label[i]]).
// weight may be null (all ones). Labels must already be validated.
void sparse_softmax_xent_forward(const float* logits, const int64_t* labels, const float* weight, int64_t rows,
                                 int64_t classes, float* loss, float* lse);

// grad_logits[i,c] = grad_loss[i] * weight[i] * (exp(x[i,c] - lse[i]) - [c == label[i]]).
void sparse_softmax_xent_backward(const float* logits, const int64_t* labels, const float* weight, const float* lse,
                                  const float* grad_loss, int64_t rows, int64_t classes, float* grad_logits);

// Elementwise stable binary cross entropy on logits:
//   loss = max(x, 0) - x * t + log1p(exp(-|x|)).
void sigmoid_xent_forward(const float* logits, const float* target, int64_t n, float* loss);

}  // namespace forge::cpu
