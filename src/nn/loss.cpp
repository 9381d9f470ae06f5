#include "nn/loss.h"

#include <limits>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backend/cpu/loss.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace forge {

namespace {

constexpr double kKerasEpsilon = 1e-7;  // Keras backend.epsilon()

// log_softmax over the class axis, kept local until ops/softmax.h lands.
Tensor log_softmax_rows(const Tensor& x) { return sub(x, logsumexp(x, {1}, true)); }

Tensor float_input(const Tensor& x, const char* op, const char* what) {
  FORGE_CHECK(x.defined(), "[{}] {} is undefined", op, what);
  FORGE_CHECK(!is_quantized(x.dtype()), "[{}] {} has quantized dtype {}", op, what, dtype_name(x.dtype()));
  return x.dtype() == DType::kF32 ? x : x.to(DType::kF32);
}

// Targets never receive gradients.
Tensor float_target(const Tensor& t, const char* op) { return float_input(t, op, "target").detach(); }

void check_same_shape(const Tensor& pred, const Tensor& target, const char* op, const char* what) {
  FORGE_CHECK(pred.shape() == target.shape(), "[{}] {} {} and target {} shapes differ", op, what,
              shape_str(pred.shape()), shape_str(target.shape()));
}

Tensor reduce(const Tensor& losses, Reduction r) {
  switch (r) {
    case Reduction::kMean: return mean(losses);
    case Reduction::kSum: return sum(losses);
    case Reduction::kNone: return losses;
  }
  return losses;
}

void check_rows(const Tensor& x, const char* op, const char* what) {
  FORGE_CHECK(x.dim() == 2, "[{}] {} must be 2-d (N, C), got {}; flatten leading axes first", op, what,
              shape_str(x.shape()));
}

// Validated class ids as a contiguous int64 tensor [N].
Tensor class_ids(const Tensor& target, int64_t rows, int64_t classes, const char* op) {
  FORGE_CHECK(target.defined(), "[{}] target is undefined", op);
  FORGE_CHECK(target.dtype() == DType::kI64 || target.dtype() == DType::kI32,
              "[{}] target must hold int64 or int32 class ids, got {}", op, dtype_name(target.dtype()));
  FORGE_CHECK(target.dim() == 1 && target.size(0) == rows, "[{}] target must be ({},) to match {} rows, got {}", op,
              rows, rows, shape_str(target.shape()));
  Tensor ids = target.dtype() == DType::kI64 ? target.contiguous() : target.to(DType::kI64);
  const int64_t* p = ids.data<int64_t>();
  for (int64_t i = 0; i < rows; ++i) {
    FORGE_CHECK(p[i] >= 0 && p[i] < classes, "[{}] label {} out of range for {} classes", op, p[i], classes);
  }
  return ids;
}

Tensor one_hot(const Tensor& ids, int64_t classes) {
  const int64_t rows = ids.numel();
  Tensor out = zeros({rows, classes});
  float* o = out.data<float>();
  const int64_t* p = ids.data<int64_t>();
  for (int64_t i = 0; i < rows; ++i) o[i * classes + p[i]] = 1.0f;
  return out;
}

// Per-sample weights class_weight[id_i] as [N], or an undefined tensor without class weights.
Tensor sample_weights(const Tensor& ids, const Tensor& class_weight, int64_t classes, const char* op) {
  if (!class_weight.defined()) return Tensor();
  FORGE_CHECK(class_weight.dim() == 1 && class_weight.size(0) == classes,
              "[{}] class_weight must be ({},) for {} classes, got {}", op, classes, classes,
              shape_str(class_weight.shape()));
  Tensor cw = float_input(class_weight, op, "class_weight").detach().contiguous();
  const float* w = cw.data<float>();
  const int64_t rows = ids.numel();
  Tensor out = empty({rows});
  float* o = out.data<float>();
  const int64_t* p = ids.data<int64_t>();
  for (int64_t i = 0; i < rows; ++i) o[i] = w[p[i]];
  return out;
}

// Reduces per-sample losses that already include the sample weights: kMean divides by the
// total weight (PyTorch's weighted mean).
Tensor reduce_weighted(const Tensor& losses, const Tensor& weights, Reduction r) {
  if (r != Reduction::kMean || !weights.defined()) return reduce(losses, r);
  return div(sum(losses), sum(weights).item());
}

}  // namespace

Reduction parse_reduction(const std::string& name) {
  if (name == "mean") return Reduction::kMean;
  if (name == "sum") return Reduction::kSum;
  if (name == "none") return Reduction::kNone;
  fail("[loss] unknown reduction '{}'; expected mean, sum or none", name);
}

// ---------------------------------------------------------------- regression

Tensor mse_loss(const Tensor& pred_in, const Tensor& target_in, Reduction r) {
  Tensor pred = float_input(pred_in, "mse_loss", "pred");
  Tensor target = float_target(target_in, "mse_loss");
  check_same_shape(pred, target, "mse_loss", "pred");
  return reduce(square(sub(pred, target)), r);
}

Tensor mae_loss(const Tensor& pred_in, const Tensor& target_in, Reduction r) {
  Tensor pred = float_input(pred_in, "mae_loss", "pred");
  Tensor target = float_target(target_in, "mae_loss");
  check_same_shape(pred, target, "mae_loss", "pred");
  return reduce(abs(sub(pred, target)), r);
}

Tensor huber_loss(const Tensor& pred_in, const Tensor& target_in, double delta, Reduction r) {
  FORGE_CHECK(delta > 0, "[huber_loss] delta must be positive, got {}", delta);
  Tensor pred = float_input(pred_in, "huber_loss", "pred");
  Tensor target = float_target(target_in, "huber_loss");
  check_same_shape(pred, target, "huber_loss", "pred");
  Tensor d = sub(pred, target);
  Tensor ad = abs(d);
  Tensor quadratic = mul(square(d), 0.5);
  Tensor linear = mul(sub(ad, 0.5 * delta), delta);
  return reduce(where(le(ad, delta), quadratic, linear), r);
}

// ---------------------------------------------------------------- binary

namespace {
Tensor apply_weight(const Tensor& losses, const Tensor& weight, const char* op) {
  if (!weight.defined()) return losses;
  const Shape b = broadcast_shapes(losses.shape(), weight.shape(), op);
  FORGE_CHECK(b == losses.shape(), "[{}] weight {} does not broadcast to input {}", op, shape_str(weight.shape()),
              shape_str(losses.shape()));
  return mul(losses, float_input(weight, op, "weight").detach());
}
}  // namespace

Tensor binary_cross_entropy(const Tensor& probs_in, const Tensor& target_in, Reduction r, const Tensor& weight) {
  const char* op = "binary_cross_entropy";
  Tensor p = float_input(probs_in, op, "probs");
  Tensor t = float_target(target_in, op);
  check_same_shape(p, t, op, "probs");
  constexpr double kInf = std::numeric_limits<double>::infinity();
  Tensor log_p = clamp(log(p), -100.0, kInf);
  Tensor log_1mp = clamp(log(rsub(1.0, p)), -100.0, kInf);
  Tensor losses = neg(add(mul(t, log_p), mul(rsub(1.0, t), log_1mp)));
  return reduce(apply_weight(losses, weight, op), r);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits_in, const Tensor& target_in, Reduction r,
                                        const Tensor& weight) {
  const char* op = "binary_cross_entropy_with_logits";
  Tensor x = float_input(logits_in, op, "logits");
  Tensor t = float_target(target_in, op).contiguous();
  check_same_shape(x, t, op, "logits");
  Tensor xc = x.detach().contiguous();
  Tensor losses = empty(x.shape());
  cpu::sigmoid_xent_forward(xc.data<float>(), t.data<float>(), x.numel(), losses.data<float>());
  if (needs_grad({&x})) {
    // d/dx = sigmoid(x) - t, written with public ops so it is differentiable again.
    record(op, {x}, losses, [x, t](const Tensors& g) { return Tensors{mul(g[0], sub(sigmoid(x), t))}; });
  }
  return reduce(apply_weight(losses, weight, op), r);
}

// ---------------------------------------------------------------- categorical

Tensor categorical_cross_entropy(const Tensor& probs_in, const Tensor& target_in, Reduction r) {
  const char* op = "categorical_cross_entropy";
  Tensor p = float_input(probs_in, op, "probs");
  check_rows(p, op, "probs");
  Tensor t = float_target(target_in, op);
  check_same_shape(p, t, op, "probs");
  Tensor normalized = div(p, sum(p, {1}, true));
  Tensor clipped = clamp(normalized, kKerasEpsilon, 1.0 - kKerasEpsilon);
  return reduce(neg(sum(mul(t, log(clipped)), {1})), r);
}

Tensor categorical_cross_entropy_with_logits(const Tensor& logits_in, const Tensor& target_in, Reduction r) {
  const char* op = "categorical_cross_entropy_with_logits";
  Tensor x = float_input(logits_in, op, "logits");
  check_rows(x, op, "logits");
  Tensor t = float_target(target_in, op);
  check_same_shape(x, t, op, "logits");
  return reduce(neg(sum(mul(t, log_softmax_rows(x)), {1})), r);
}

Tensor sparse_categorical_cross_entropy(const Tensor& probs_in, const Tensor& target, Reduction r,
                                        const Tensor& class_weight) {
  const char* op = "sparse_categorical_cross_entropy";
  Tensor p = float_input(probs_in, op, "probs");
  check_rows(p, op, "probs");
  const int64_t classes = p.size(1);
  Tensor ids = class_ids(target, p.size(0), classes, op);
  Tensor weights = sample_weights(ids, class_weight, classes, op);
  Tensor normalized = div(p, sum(p, {1}, true));
  Tensor clipped = clamp(normalized, kKerasEpsilon, 1.0 - kKerasEpsilon);
  Tensor losses = neg(sum(mul(one_hot(ids, classes), log(clipped)), {1}));
  if (weights.defined()) losses = mul(losses, weights);
  return reduce_weighted(losses, weights, r);
}

Tensor sparse_categorical_cross_entropy_with_logits(const Tensor& logits_in, const Tensor& target, Reduction r,
                                                    const Tensor& class_weight) {
  const char* op = "sparse_categorical_cross_entropy";
  Tensor x = float_input(logits_in, op, "logits");
  check_rows(x, op, "logits");
  const int64_t rows = x.size(0);
  const int64_t classes = x.size(1);
  FORGE_CHECK(classes > 0, "[{}] logits need at least one class, got {}", op, shape_str(x.shape()));
  Tensor ids = class_ids(target, rows, classes, op);
  Tensor weights = sample_weights(ids, class_weight, classes, op);
  Tensor xc = x.detach().contiguous();
  Tensor losses = empty({rows});
  Tensor lse = empty({rows});
  const float* w = weights.defined() ? weights.data<float>() : nullptr;
  cpu::sparse_softmax_xent_forward(xc.data<float>(), ids.data<int64_t>(), w, rows, classes, losses.data<float>(),
                                   lse.data<float>());
  if (needs_grad({&x})) {
    record("sparse_categorical_cross_entropy_with_logits", {x}, losses,
           [x, xc, ids, weights, lse, classes](const Tensors& g) {
             if (!grad_enabled()) {
               // Plain backward: one fused pass writes (softmax - one_hot) * g * w.
               Tensor gl = g[0].contiguous();
               Tensor out = empty(xc.shape());
               cpu::sparse_softmax_xent_backward(xc.data<float>(), ids.data<int64_t>(),
                                                 weights.defined() ? weights.data<float>() : nullptr, lse.data<float>(),
                                                 gl.data<float>(), xc.size(0), classes, out.data<float>());
               return Tensors{out};
             }
             // create_graph: the same rule composed of public ops, so it is differentiable.
             Tensor scale = weights.defined() ? mul(g[0], weights) : g[0];
             Tensor softmax = exp(log_softmax_rows(x));
             return Tensors{mul(unsqueeze(scale, 1), sub(softmax, one_hot(ids, classes)))};
           });
  }
  return reduce_weighted(losses, weights, r);
}

}  // namespace forge
