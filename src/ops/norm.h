#pragma once
// Normalization layers as functions (the nn layers hold the parameters and running stats).
#include "core/tensor.h"

namespace forge {

// x [N, C, ...] normalized per channel over every axis but 1. training: uses the batch mean
// and biased variance, and (when defined) updates running_mean / running_var [C] in place
// like PyTorch: new = (1 - momentum) * old + momentum * batch, with the unbiased batch
// variance for running_var. Not training: uses the running stats. weight/bias [C] optional.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

// Normalizes over the trailing axes given by normalized_shape (biased variance), then
// applies weight and bias (both of shape normalized_shape, optional).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// x * rsqrt(mean(x^2) + eps) * weight over the trailing axes given by normalized_shape.
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(), double eps = 1e-6);

}  // namespace forge
