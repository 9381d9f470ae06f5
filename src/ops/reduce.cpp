#include "ops/reduce.h"

#include <algorithm>
#include <limits>

#include "autograd/node.h"
#include "core/parallel.h"
#include "ops/elementwise.h"

namespace forge {

namespace {

struct Plan {
  std::vector<bool> reduced;  // per input axis
  Shape keep_shape;           // reduced axes set to 1
  Shape out_shape;            // keep_shape, or with reduced axes removed
  int64_t count = 1;          // elements folded into each output
};

Plan make_plan(const Tensor& x, const Axes& axes, bool keepdims, const char* op) {
  Plan plan;
  const int64_t nd = x.dim();
  plan.reduced.assign(static_cast<size_t>(nd), axes.empty());
  for (int64_t axis : axes) {
    const int64_t a = normalize_axis(axis, nd, op);
    FORGE_CHECK(nd > 0, "[{}] cannot reduce axis {} of a 0-d tensor", op, axis);
    FORGE_CHECK(!plan.reduced[static_cast<size_t>(a)], "[{}] axis {} listed twice", op, axis);
    plan.reduced[static_cast<size_t>(a)] = true;
  }
  for (int64_t i = 0; i < nd; ++i) {
    const int64_t d = x.shape()[static_cast<size_t>(i)];
    if (plan.reduced[static_cast<size_t>(i)]) {
      plan.count *= d;
      plan.keep_shape.push_back(1);
      if (keepdims) plan.out_shape.push_back(1);
    } else {
      plan.keep_shape.push_back(d);
      plan.out_shape.push_back(d);
    }
  }
  return plan;
}

// Views x as [outer, R, inner] (contiguous) with the reduced axes in the middle block.
struct Layout {
  Tensor data;
  int64_t outer, reduce, inner;
};

Layout to_layout(const Tensor& x, const Plan& plan) {
  const int64_t nd = x.dim();
  int64_t first = -1, last = -1;
  for (int64_t i = 0; i < nd; ++i) {
    if (plan.reduced[static_cast<size_t>(i)]) {
      if (first < 0) first = i;
      last = i;
    }
  }
  bool block = first >= 0;
  for (int64_t i = first; block && i <= last; ++i) block = plan.reduced[static_cast<size_t>(i)];
  if (first < 0) return {x.contiguous(), numel_of(x.shape()), 1, 1};
  if (block) {
    int64_t outer = 1, reduce = 1, inner = 1;
    for (int64_t i = 0; i < nd; ++i) {
      const int64_t d = x.shape()[static_cast<size_t>(i)];
      (i < first ? outer : (i <= last ? reduce : inner)) *= d;
    }
    return {x.contiguous(), outer, reduce, inner};
  }
  // Move the reduced axes last.
  Shape order;
  int64_t outer = 1;
  for (int64_t i = 0; i < nd; ++i) {
    if (!plan.reduced[static_cast<size_t>(i)]) {
      order.push_back(i);
      outer *= x.shape()[static_cast<size_t>(i)];
    }
  }
  for (int64_t i = 0; i < nd; ++i) {
    if (plan.reduced[static_cast<size_t>(i)]) order.push_back(i);
  }
  return {x.detach().permute(order).contiguous(), outer, plan.count, 1};
}

enum class Kind { kSum, kMax, kMin };

Tensor reduce_kernel(const Tensor& x_in, const Plan& plan, Kind kind, const char* op) {
  Tensor x = x_in.dtype() == DType::kF32 ? x_in.detach() : x_in.to(DType::kF32);
  FORGE_CHECK(kind == Kind::kSum || plan.count > 0, "[{}] cannot reduce over an empty axis", op);
  Layout l = to_layout(x, plan);
  Tensor out = empty(plan.out_shape);
  const float* in = l.data.data<float>();
  float* o = out.data<float>();
  const float init = kind == Kind::kSum   ? 0.0f
                     : kind == Kind::kMax ? -std::numeric_limits<float>::infinity()
                                          : std::numeric_limits<float>::infinity();
  parallel_for(0, l.outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, l.reduce * l.inner)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t b = lo; b < hi; ++b) {
                   const float* src = in + b * l.reduce * l.inner;
                   float* dst = o + b * l.inner;
                   if (l.inner == 1) {
                     if (kind == Kind::kSum) {
                       double acc = 0;  // rows can be long: accumulate in double
                       for (int64_t r = 0; r < l.reduce; ++r) acc += src[r];
                       dst[0] = static_cast<float>(acc);
                     } else {
                       float acc = init;
                       for (int64_t r = 0; r < l.reduce; ++r) {
                         const float v = src[r];
                         acc = (kind == Kind::kMax ? (v > acc || v != v) : (v < acc || v != v)) ? v : acc;
                       }
                       dst[0] = acc;
                     }
                     continue;
                   }
                   for (int64_t i = 0; i < l.inner; ++i) dst[i] = init;
                   for (int64_t r = 0; r < l.reduce; ++r) {
                     const float* row = src + r * l.inner;
                     if (kind == Kind::kSum) {
                       for (int64_t i = 0; i < l.inner; ++i) dst[i] += row[i];
                     } else if (kind == Kind::kMax) {
                       for (int64_t i = 0; i < l.inner; ++i) dst[i] = (row[i] > dst[i] || row[i] != row[i]) ? row[i] : dst[i];
                     } else {
                       for (int64_t i = 0; i < l.inner; ++i) dst[i] = (row[i] < dst[i] || row[i] != row[i]) ? row[i] : dst[i];
                     }
                   }
                 }
               });
  return out;
}

Tensor extremum(const Tensor& x, const Axes& axes, bool keepdims, Kind kind, const char* op) {
  Plan plan = make_plan(x, axes, keepdims, op);
  Tensor out = reduce_kernel(x, plan, kind, op);
  if (needs_grad({&x})) {
    record(op, {x}, out, [x, plan, o = out.detach()](const Tensors& g) {
      const Shape& full = x.shape();
      Tensor mask = eq(x, o.reshape(plan.keep_shape));
      Axes reduced;
      for (size_t i = 0; i < plan.reduced.size(); ++i) {
        if (plan.reduced[i]) reduced.push_back(static_cast<int64_t>(i));
      }
      Tensor count = sum(mask, reduced, true);
      Tensor share = div(mask, count);
      return Tensors{mul(g[0].reshape(plan.keep_shape).expand(full), share)};
    });
  }
  return out;
}

Tensor arg_extremum(const Tensor& x_in, int64_t axis, bool keepdims, bool is_max, const char* op) {
  FORGE_CHECK(x_in.dim() > 0, "[{}] needs at least a 1-d tensor", op);
  Plan plan = make_plan(x_in, {axis}, keepdims, op);
  FORGE_CHECK(plan.count > 0, "[{}] cannot reduce over an empty axis", op);
  Tensor x = x_in.dtype() == DType::kF32 ? x_in.detach() : x_in.to(DType::kF32);
  Layout l = to_layout(x, plan);
  Tensor out = empty(plan.out_shape, DType::kI64);
  const float* in = l.data.data<float>();
  int64_t* o = out.data<int64_t>();
  for (int64_t b = 0; b < l.outer; ++b) {
    for (int64_t i = 0; i < l.inner; ++i) {
      const float* src = in + b * l.reduce * l.inner + i;
      int64_t best = 0;
      float best_value = src[0];
      for (int64_t r = 1; r < l.reduce; ++r) {
        const float v = src[r * l.inner];
        if (best_value != best_value) break;  // NaN wins, like PyTorch
        if (is_max ? (v > best_value || v != v) : (v < best_value || v != v)) {
          best_value = v;
          best = r;
        }
      }
      o[b * l.inner + i] = best;
    }
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Axes& axes, bool keepdims) {
  Plan plan = make_plan(x, axes, keepdims, "sum");
  Tensor out = reduce_kernel(x, plan, Kind::kSum, "sum");
  if (needs_grad({&x})) {
    record("sum", {x}, out, [full = x.shape(), keep = plan.keep_shape](const Tensors& g) {
      return Tensors{g[0].reshape(keep).expand(full)};
    });
  }
  return out;
}

Tensor mean(const Tensor& x, const Axes& axes, bool keepdims) {
  Plan plan = make_plan(x, axes, keepdims, "mean");
  FORGE_CHECK(plan.count > 0, "[mean] cannot average over an empty axis of shape {}", shape_str(x.shape()));
  return div(sum(x, axes, keepdims), static_cast<double>(plan.count));
}

Tensor max(const Tensor& x, const Axes& axes, bool keepdims) { return extremum(x, axes, keepdims, Kind::kMax, "max"); }
Tensor min(const Tensor& x, const Axes& axes, bool keepdims) { return extremum(x, axes, keepdims, Kind::kMin, "min"); }

Tensor var(const Tensor& x, const Axes& axes, bool keepdims, int64_t correction) {
  Plan plan = make_plan(x, axes, keepdims, "var");
  FORGE_CHECK(plan.count - correction > 0, "[var] {} elements with correction {} leave no degrees of freedom",
              plan.count, correction);
  Tensor centered = sub(x, mean(x, axes, true));
  return div(sum(square(centered), axes, keepdims), static_cast<double>(plan.count - correction));
}

Tensor logsumexp(const Tensor& x, const Axes& axes, bool keepdims) {
  Plan plan = make_plan(x, axes, keepdims, "logsumexp");
  Tensor m = max(x.detach(), axes, true);
  // Rows that are all -inf would give inf - inf; shift by 0 there instead.
  m = where(eq(abs(m), std::numeric_limits<double>::infinity()), zeros({}), m);
  Tensor out = add(log(sum(exp(sub(x, m)), axes, true)), m);
  return keepdims ? out : out.reshape(plan.out_shape);
}

Tensor argmax(const Tensor& x, int64_t axis, bool keepdims) { return arg_extremum(x, axis, keepdims, true, "argmax"); }
Tensor argmin(const Tensor& x, int64_t axis, bool keepdims) { return arg_extremum(x, axis, keepdims, false, "argmin"); }

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - static_cast<int64_t>(shape.size());
  FORGE_CHECK(lead >= 0, "[sum_to] cannot sum {} down to {}", shape_str(x.shape()), shape_str(shape));
  Axes axes;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (i < lead) {
      axes.push_back(i);
    } else if (shape[static_cast<size_t>(i - lead)] == 1 && x.shape()[static_cast<size_t>(i)] != 1) {
      axes.push_back(i);
    }
  }
  if (axes.empty()) return x.reshape(shape);
  return sum(x, axes, true).reshape(shape);
}

}  // namespace forge
