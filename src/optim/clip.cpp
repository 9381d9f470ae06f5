#include "optim/clip.h"

#include <algorithm>
#include <cmath>

#include "autograd/grad_mode.h"
#include "ops/elementwise.h"

namespace forge {

namespace {
// Contiguous float32 gradients of the parameters that have one.
Tensors grads_of(const NamedTensors& params) {
  Tensors out;
  for (const NamedTensor& p : params) {
    FORGE_CHECK(p.tensor.defined(), "[clip_grad] parameter '{}' is undefined", p.name);
    Tensor g = p.tensor.grad();
    if (g.defined()) out.push_back(g);
  }
  return out;
}

double accumulate_norm(const Tensor& grad, double norm_type) {
  Tensor g = grad.dtype() == DType::kF32 ? grad.contiguous() : grad.to(DType::kF32).contiguous();
  const float* x = g.data<float>();
  const int64_t n = g.numel();
  double acc = 0;
  if (std::isinf(norm_type)) {
    for (int64_t i = 0; i < n; ++i) acc = std::max(acc, static_cast<double>(std::fabs(x[i])));
  } else if (norm_type == 2.0) {
    for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * x[i];
  } else {
    for (int64_t i = 0; i < n; ++i) acc += std::pow(std::fabs(static_cast<double>(x[i])), norm_type);
  }
  return acc;
}
}  // namespace

double clip_grad_norm(const NamedTensors& params, double max_norm, double norm_type) {
  FORGE_CHECK(max_norm >= 0, "[clip_grad_norm] max_norm must be non-negative, got {}", max_norm);
  FORGE_CHECK(norm_type > 0, "[clip_grad_norm] norm_type must be positive (or infinity), got {}", norm_type);
  const Tensors grads = grads_of(params);
  if (grads.empty()) return 0.0;
  double total = 0;
  for (const Tensor& g : grads) {
    const double part = accumulate_norm(g, norm_type);
    total = std::isinf(norm_type) ? std::max(total, part) : total + part;
  }
  if (!std::isinf(norm_type)) total = norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.0 / norm_type);
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0) {
    NoGradGuard no_grad;
    for (const Tensor& g : grads) mul_(g, coef);
  }
  return total;
}

void clip_grad_value(const NamedTensors& params, double clip) {
  FORGE_CHECK(clip >= 0, "[clip_grad_value] clip must be non-negative, got {}", clip);
  NoGradGuard no_grad;
  const float c = static_cast<float>(clip);
  for (const Tensor& g : grads_of(params)) {
    if (g.dtype() == DType::kF32 && g.is_contiguous()) {
      float* x = g.data<float>();
      const int64_t n = g.numel();
      for (int64_t i = 0; i < n; ++i) x[i] = std::clamp(x[i], -c, c);
    } else {
      copy_(g, clamp(g, -clip, clip));
    }
  }
}

}  // namespace forge
