#include "nn/dense_stack.h"

#include <typeinfo>
#include <vector>

#include "autograd/grad_mode.h"
#include "backend/cpu/gemv.h"
#include "nn/activation.h"
#include "nn/layers/core.h"
#include "nn/module.h"
#include "ops/precision.h"

namespace forge::nn {

namespace {

constexpr size_t kMaxLayers = 64;

bool is_f32_contiguous(const Tensor& t) { return t.dtype() == DType::kF32 && t.is_contiguous(); }

// The Dense layers of `net` in order when every child is a built, float32, contiguous Dense
// and the hidden activations are linear or relu; 0 layers otherwise.
size_t collect_dense(const Sequential& net, int64_t in_features, const Dense** layers) {
  const NamedModules& children = net.named_children();
  if (children.empty() || children.size() > kMaxLayers) return 0;
  int64_t features = in_features;
  for (size_t i = 0; i < children.size(); ++i) {
    const Module* m = children[i].second.get();
    if (m == nullptr || typeid(*m) != typeid(Dense)) return 0;
    const auto* d = static_cast<const Dense*>(m);
    if (!d->built()) return 0;
    const Tensor& w = d->weight();
    if (!is_f32_contiguous(w) || w.shape()[1] != features) return 0;
    if (d->bias().defined() && !is_f32_contiguous(d->bias())) return 0;
    const bool last = i + 1 == children.size();
    if (!last && d->activation() != "relu" && d->activation() != "linear") return 0;
    features = w.shape()[0];
    layers[i] = d;
  }
  return children.size();
}

}  // namespace

Tensor dense_stack_forward(const Sequential& net, const Tensor& input) {
  if (grad_enabled() || math_precision() != Precision::kF32) return {};
  if (!input.defined() || input.dim() < 1 || !is_f32_contiguous(input)) return {};
  const int64_t in_features = input.shape().back();
  if (in_features <= 0) return {};
  const int64_t rows = input.numel() / in_features;
  if (rows < 1 || rows > kDenseStackMaxRows) return {};
  const Dense* layers[kMaxLayers];
  const size_t count = collect_dense(net, in_features, layers);
  if (count == 0) return {};

  // Hidden activations ping-pong between two per-thread buffers; the last layer writes
  // straight into the output tensor.
  thread_local std::vector<float> scratch[2];
  const float* x = input.data<float>();
  int64_t k = in_features;
  Tensor out;
  for (size_t l = 0; l < count; ++l) {
    const Dense& d = *layers[l];
    const int64_t n = d.weight().shape()[0];
    const bool last = l + 1 == count;
    float* y;
    if (last) {
      Shape shape = input.shape();
      shape.back() = n;
      out = empty(shape);
      y = out.data<float>();
    } else {
      std::vector<float>& buf = scratch[l % 2];
      if (buf.size() < static_cast<size_t>(rows * n)) buf.resize(static_cast<size_t>(rows * n));
      y = buf.data();
    }
    const float* w = d.weight().data<float>();
    const float* b = d.bias().defined() ? d.bias().data<float>() : nullptr;
    for (int64_t r = 0; r < rows; ++r) cpu::gemv_rows(n, k, x + r * k, w, k, b, y + r * n);
    const std::string& act = d.activation();
    if (act == "relu") {
      // Same rule as linear_relu (NaN becomes 0).
      for (int64_t i = 0; i < rows * n; ++i) y[i] = y[i] > 0.0f ? y[i] : 0.0f;
    } else if (last && act != "linear") {
      out = apply_activation(act, out);
    }
    x = y;
    k = n;
  }
  return out;
}

}  // namespace forge::nn
