#include "ops/norm.h"

#include <utility>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backend/cpu/fused_backward.h"
#include "backend/cpu/norm.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace forge {

namespace {

Tensor float_input(const Tensor& x, const char* op, const char* role) {
  FORGE_CHECK(x.defined(), "[{}] {} is undefined", op, role);
  if (x.dtype() == DType::kF32) return x;
  FORGE_CHECK(!is_quantized(x.dtype()), "[{}] quantized {} dtype {} needs dequantizing first", op, role,
              dtype_name(x.dtype()));
  return x.to(DType::kF32);
}

// An optional parameter: undefined stays undefined, else float32 of exactly `shape`.
Tensor optional_param(const Tensor& t, const Shape& shape, const char* op, const char* role) {
  if (!t.defined()) return t;
  Tensor f = float_input(t, op, role);
  FORGE_CHECK(f.shape() == shape, "[{}] {} has shape {}, expected {}", op, role, shape_str(f.shape()),
              shape_str(shape));
  return f;
}

const float* data_or_null(const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; }

// The last `k` axes of an nd-tensor, and the rest.
Axes trailing_axes(int64_t nd, int64_t k) {
  Axes axes;
  for (int64_t i = nd - k; i < nd; ++i) axes.push_back(i);
  return axes;
}

// Checks that normalized_shape matches x's trailing axes; returns (rows, n).
std::pair<int64_t, int64_t> rows_by_n(const Tensor& x, const Shape& normalized_shape, const char* op) {
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  FORGE_CHECK(k > 0, "[{}] normalized_shape must not be empty", op);
  bool match = x.dim() >= k;
  for (int64_t i = 0; match && i < k; ++i) {
    match = x.shape()[static_cast<size_t>(x.dim() - k + i)] == normalized_shape[static_cast<size_t>(i)];
  }
  FORGE_CHECK(match, "[{}] normalized_shape {} does not match the trailing axes of input {}", op,
              shape_str(normalized_shape), shape_str(x.shape()));
  const int64_t n = numel_of(normalized_shape);
  return {n == 0 ? 0 : x.numel() / n, n};
}

// Shape of per-row statistics broadcast against x: x's leading axes, then k ones.
Shape stat_shape(const Shape& x_shape, int64_t k) {
  Shape s(x_shape.begin(), x_shape.end() - k);
  s.insert(s.end(), static_cast<size_t>(k), 1);
  return s;
}

// Gradient of normalizing over `axes` given x_hat = (x - mean) * rstd and the gradient gx_hat
// that reaches x_hat (already multiplied by the weight):
//   dx = rstd * (gx_hat - mean(gx_hat) - x_hat * mean(gx_hat * x_hat)).
// Drop the mean(gx_hat) term for RMS norm (no centering).
Tensor normalize_backward(const Tensor& gx_hat, const Tensor& x_hat, const Tensor& rstd, const Axes& axes,
                          bool centered) {
  Tensor inner = sub(gx_hat, mul(x_hat, mean(mul(gx_hat, x_hat), axes, true)));
  if (centered) inner = sub(inner, mean(gx_hat, axes, true));
  return mul(rstd, inner);
}

}  // namespace

// ---------------------------------------------------------------- layer_norm

Tensor layer_norm(const Tensor& x_in, const Shape& normalized_shape, const Tensor& weight_in, const Tensor& bias_in,
                  double eps) {
  Tensor x = float_input(x_in, "layer_norm", "input");
  const auto [rows, n] = rows_by_n(x, normalized_shape, "layer_norm");
  FORGE_CHECK(eps >= 0, "[layer_norm] eps must be non-negative, got {}", eps);
  Tensor weight = optional_param(weight_in, normalized_shape, "layer_norm", "weight");
  Tensor bias = optional_param(bias_in, normalized_shape, "layer_norm", "bias");
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  const Shape sshape = stat_shape(x.shape(), k);
  Tensor xc = x.detach().contiguous();
  Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor bc = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor out = empty(x.shape());
  Tensor mean_saved = empty(sshape);
  Tensor rstd_saved = empty(sshape);
  cpu::layer_norm_forward(xc.data<float>(), data_or_null(wc), data_or_null(bc), out.data<float>(),
                          mean_saved.data<float>(), rstd_saved.data<float>(), rows, n, eps);
  if (needs_grad({&x, &weight, &bias})) {
    record("layer_norm", {x, weight, bias}, out,
           [x, weight, bias, normalized_shape, k, eps, mean_saved, rstd_saved](const Tensors& g) {
             if (!grad_enabled() && g[0].dtype() == DType::kF32 && g[0].shape() == x.shape()) {
               // One fused pass over the rows (no graph to build for higher derivatives).
               const Tensor xc = x.detach().contiguous(), gc = g[0].contiguous();
               const Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
               Tensor gx = x.requires_grad() ? empty(x.shape()) : Tensor();
               Tensor gw = weight.defined() && weight.requires_grad() ? zeros(normalized_shape) : Tensor();
               Tensor gb = bias.defined() && bias.requires_grad() ? zeros(normalized_shape) : Tensor();
               const int64_t rows = mean_saved.numel(), n = rows > 0 ? x.numel() / rows : 0;
               cpu::layer_norm_backward(xc.data<float>(), gc.data<float>(), data_or_null(wc), mean_saved.data<float>(),
                                        rstd_saved.data<float>(), rows, n,
                                        gx.defined() ? gx.data<float>() : nullptr,
                                        gw.defined() ? gw.data<float>() : nullptr,
                                        gb.defined() ? gb.data<float>() : nullptr);
               return Tensors{gx, gw, gb};
             }
             const Axes axes = trailing_axes(x.dim(), k);
             // Under create_graph the statistics are recomputed with public ops so the
             // gradient stays differentiable in x; otherwise the saved ones are reused.
             Tensor mu = mean_saved, rstd = rstd_saved;
             if (grad_enabled()) {
               mu = mean(x, axes, true);
               rstd = rsqrt(add(var(x, axes, true, 0), eps));
             }
             const Tensor x_hat = mul(sub(x, mu), rstd);
             Tensor gx, gw, gb;
             if (x.requires_grad()) {
               const Tensor gx_hat = weight.defined() ? mul(g[0], weight) : g[0];
               gx = normalize_backward(gx_hat, x_hat, rstd, axes, true);
             }
             if (weight.defined() && weight.requires_grad()) gw = sum_to(mul(g[0], x_hat), normalized_shape);
             if (bias.defined() && bias.requires_grad()) gb = sum_to(g[0], normalized_shape);
             return Tensors{gx, gw, gb};
           });
  }
  return out;
}

// ---------------------------------------------------------------- rms_norm

Tensor rms_norm(const Tensor& x_in, const Shape& normalized_shape, const Tensor& weight_in, double eps) {
  Tensor x = float_input(x_in, "rms_norm", "input");
  const auto [rows, n] = rows_by_n(x, normalized_shape, "rms_norm");
  FORGE_CHECK(eps >= 0, "[rms_norm] eps must be non-negative, got {}", eps);
  Tensor weight = optional_param(weight_in, normalized_shape, "rms_norm", "weight");
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  Tensor xc = x.detach().contiguous();
  Tensor wc = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor out = empty(x.shape());
  Tensor rstd_saved = empty(stat_shape(x.shape(), k));
  cpu::rms_norm_forward(xc.data<float>(), data_or_null(wc), out.data<float>(), rstd_saved.data<float>(), rows, n,
                        eps);
  if (needs_grad({&x, &weight})) {
    record("rms_norm", {x, weight}, out, [x, weight, normalized_shape, k, eps, rstd_saved](const Tensors& g) {
      const Axes axes = trailing_axes(x.dim(), k);
      const Tensor rstd = grad_enabled() ? rsqrt(add(mean(square(x), axes, true), eps)) : rstd_saved;
      const Tensor x_hat = mul(x, rstd);
      Tensor gx, gw;
      if (x.requires_grad()) {
        const Tensor gx_hat = weight.defined() ? mul(g[0], weight) : g[0];
        gx = normalize_backward(gx_hat, x_hat, rstd, axes, false);
      }
      if (weight.defined() && weight.requires_grad()) gw = sum_to(mul(g[0], x_hat), normalized_shape);
      return Tensors{gx, gw};
    });
  }
  return out;
}

// ---------------------------------------------------------------- batch_norm

Tensor batch_norm(const Tensor& x_in, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight_in,
                  const Tensor& bias_in, bool training, double momentum, double eps) {
  Tensor x = float_input(x_in, "batch_norm", "input");
  FORGE_CHECK(x.dim() >= 2, "[batch_norm] input must be at least 2-d (N, C, ...), got shape {}",
              shape_str(x.shape()));
  FORGE_CHECK(eps >= 0, "[batch_norm] eps must be non-negative, got {}", eps);
  const int64_t channels = x.size(1);
  const Shape cshape{channels};
  Tensor weight = optional_param(weight_in, cshape, "batch_norm", "weight");
  Tensor bias = optional_param(bias_in, cshape, "batch_norm", "bias");
  for (const auto& [stat, role] : {std::pair{&running_mean, "running_mean"}, std::pair{&running_var, "running_var"}}) {
    if (!stat->defined()) {
      FORGE_CHECK(training, "[batch_norm] {} is required in eval mode", role);
      continue;
    }
    FORGE_CHECK(stat->dtype() == DType::kF32, "[batch_norm] {} must be float32, got {}", role,
                dtype_name(stat->dtype()));
    FORGE_CHECK(stat->shape() == cshape, "[batch_norm] {} has shape {}, expected {} (channels of input {})", role,
                shape_str(stat->shape()), shape_str(cshape), shape_str(x.shape()));
  }
  const int64_t outer = x.size(0);
  const int64_t inner = channels == 0 ? 0 : x.numel() / (outer * channels);
  const int64_t count = outer * inner;
  Axes axes{0};
  Shape bshape(static_cast<size_t>(x.dim()), 1);
  bshape[1] = channels;
  for (int64_t i = 2; i < x.dim(); ++i) axes.push_back(i);

  Tensor xc = x.detach().contiguous();
  Tensor mu, rstd;  // [C], constants
  Tensor out = empty(x.shape());
  {
    NoGradGuard no_grad;
    if (training) {
      FORGE_CHECK(count > 1, "[batch_norm] training needs more than 1 value per channel, got input {}",
                  shape_str(x.shape()));
      mu = empty(cshape);
      Tensor var_b = empty(cshape);
      cpu::channel_moments(xc.data<float>(), mu.data<float>(), var_b.data<float>(), outer, channels, inner);
      rstd = rsqrt(add(var_b, eps));
      // Running stats track the unbiased variance (PyTorch's rule).
      if (running_mean.defined()) {
        mul_(running_mean, 1.0 - momentum);
        add_(running_mean, mu, momentum);
      }
      if (running_var.defined()) {
        mul_(running_var, 1.0 - momentum);
        add_(running_var, var_b, momentum * static_cast<double>(count) / static_cast<double>(count - 1));
      }
    } else {
      mu = running_mean.detach().clone();  // a copy: later in-place updates must not change saved stats
      rstd = rsqrt(add(running_var.detach(), eps));
    }
    const Tensor scale = (weight.defined() ? mul(rstd, weight.detach()) : rstd).contiguous();
    const Tensor shift = bias.defined() ? bias.detach().contiguous() : zeros(cshape);
    cpu::channel_normalize(xc.data<float>(), out.data<float>(), mu.data<float>(), scale.data<float>(),
                           shift.data<float>(), outer, channels, inner);
  }
  if (needs_grad({&x, &weight, &bias})) {
    record("batch_norm", {x, weight, bias}, out,
           [x, weight, bias, training, eps, axes, bshape, mu_saved = mu.reshape(bshape),
            rstd_saved = rstd.reshape(bshape)](const Tensors& g) {
             // Batch statistics depend on x; under create_graph they are recomputed with
             // public ops so the gradient stays differentiable. Running stats are constants.
             Tensor mu = mu_saved, rstd = rstd_saved;
             if (training && grad_enabled()) {
               mu = mean(x, axes, true);
               rstd = rsqrt(add(var(x, axes, true, 0), eps));
             }
             const Tensor x_hat = mul(sub(x, mu), rstd);
             Tensor gx, gw, gb;
             if (x.requires_grad()) {
               const Tensor gx_hat = weight.defined() ? mul(g[0], weight.reshape(bshape)) : g[0];
               gx = training ? normalize_backward(gx_hat, x_hat, rstd, axes, true) : mul(gx_hat, rstd);
             }
             if (weight.defined() && weight.requires_grad()) gw = sum(mul(g[0], x_hat), axes);
             if (bias.defined() && bias.requires_grad()) gb = sum(g[0], axes);
             return Tensors{gx, gw, gb};
           });
  }
  return out;
}

}  // namespace forge
