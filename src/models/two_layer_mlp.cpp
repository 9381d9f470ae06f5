#include "models/two_layer_mlp.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/linalg.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace forge::models {

TwoLayerMlp TwoLayerMlp::init(int64_t in, int64_t hidden, int64_t classes, Generator& gen) {
  FORGE_CHECK(in > 0 && hidden > 0 && classes > 0, "[two_layer_mlp] sizes must be positive, got {} -> {} -> {}", in,
              hidden, classes);
  const double bound1 = 1.0 / std::sqrt(static_cast<double>(in));
  const double bound2 = 1.0 / std::sqrt(static_cast<double>(hidden));
  TwoLayerMlp m;
  m.w1 = rand({hidden, in}, -bound1, bound1, &gen);
  m.b1 = rand({hidden}, -bound1, bound1, &gen);
  m.w2 = rand({classes, hidden}, -bound2, bound2, &gen);
  m.b2 = rand({classes}, -bound2, bound2, &gen);
  for (Tensor* p : {&m.w1, &m.b1, &m.w2, &m.b2}) p->set_requires_grad();
  return m;
}

TwoLayerMlp TwoLayerMlp::clone() const {
  TwoLayerMlp m{w1.detach().clone(), b1.detach().clone(), w2.detach().clone(), b2.detach().clone()};
  for (Tensor* p : {&m.w1, &m.b1, &m.w2, &m.b2}) p->set_requires_grad();
  return m;
}

Tensor TwoLayerMlp::forward(const Tensor& x) const {
  FORGE_CHECK(x.dim() == 2, "[two_layer_mlp] input must be 2-d [batch, {}], got {}", w1.size(1), shape_str(x));
  return linear(relu(linear(x, w1, b1)), w2, b2);  // [B, in] -> [B, hidden] -> [B, classes]
}

namespace {

// Checks labels against logits [B, C] and returns them as int64.
Tensor checked_labels(const Tensor& logits, const Tensor& labels, const char* op) {
  FORGE_CHECK(logits.dim() == 2, "[{}] logits must be 2-d [batch, classes], got {}", op, shape_str(logits));
  FORGE_CHECK(labels.dim() == 1 && labels.size(0) == logits.size(0),
              "[{}] labels must be 1-d [batch] matching logits {}, got {}", op, shape_str(logits), shape_str(labels));
  FORGE_CHECK(!is_floating(labels.dtype()), "[{}] labels must be integers, got {}", op, dtype_name(labels.dtype()));
  const Tensor ids = labels.to(DType::kI64);
  const std::vector<int64_t> values = ids.to_vector<int64_t>();
  const int64_t classes = logits.size(1);
  for (size_t i = 0; i < values.size(); ++i) {
    FORGE_CHECK(values[i] >= 0 && values[i] < classes, "[{}] label {} at row {} is outside [0, {})", op, values[i], i,
                classes);
  }
  return ids;
}

}  // namespace

MlpGradients manual_gradients(const TwoLayerMlp& m, const Tensor& x_in, const Tensor& labels) {
  NoGradGuard no_grad;
  const Tensor x = x_in.detach().to(DType::kF32);
  const Tensor w1 = m.w1.detach(), b1 = m.b1.detach(), w2 = m.w2.detach(), b2 = m.b2.detach();
  FORGE_CHECK(x.dim() == 2 && x.size(1) == w1.size(1), "[two_layer_mlp] input must be [batch, {}], got {}", w1.size(1),
              shape_str(x));
  const auto batch = static_cast<double>(x.size(0));
  // Forward.
  const Tensor z1 = matmul(x, w1.t()) + b1;  // [B, H]
  const Tensor h = relu(z1);                 // [B, H]
  const Tensor z2 = matmul(h, w2.t()) + b2;  // [B, C]
  const Tensor y = forge::one_hot(checked_labels(z2, labels, "two_layer_mlp"), z2.size(1));
  // Softmax, shifted by the row maximum for stability.
  const Tensor shifted = z2 - max(z2, {1}, true);
  const Tensor e = exp(shifted);
  const Tensor s = sum(e, {1}, true);  // [B, 1]
  const Tensor p = e / s;              // [B, C]
  MlpGradients g;
  g.loss = -sum(y * (shifted - log(s))).item() / batch;
  // Backward: dL/dz2 = (p - y) / B, then the chain rule through each matmul.
  const Tensor dz2 = (p - y) / batch;   // [B, C]
  g.w2 = matmul(dz2.t(), h);            // [C, H]
  g.b2 = sum(dz2, {0});                 // [C]
  const Tensor dh = matmul(dz2, w2);    // [B, H]
  const Tensor dz1 = dh * gt(z1, 0.0);  // ReLU passes the gradient where z1 > 0
  g.w1 = matmul(dz1.t(), x);            // [H, in]
  g.b1 = sum(dz1, {0});                 // [H]
  return g;
}

void sgd_update(const TwoLayerMlp& m, const Tensors& grads, double lr) {
  const Tensors params = m.parameters();
  FORGE_CHECK(grads.size() == params.size(), "[sgd_update] expected {} gradients, got {}", params.size(), grads.size());
  NoGradGuard no_grad;
  for (size_t i = 0; i < params.size(); ++i) {
    FORGE_CHECK(grads[i].defined(), "[sgd_update] gradient {} is undefined", i);
    add_(params[i], grads[i], -lr);
  }
}

}  // namespace forge::models
