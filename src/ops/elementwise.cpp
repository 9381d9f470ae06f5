#include "ops/elementwise.h"

#include <cmath>
#include <numbers>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backend/cpu/cast.h"
#include "backend/cpu/elementwise.h"
#include "backend/cpu/fused_backward.h"
#include "backend/cpu/gelu.h"
#include "backend/cpu/vec_math.h"
#include "ops/reduce.h"

namespace forge {

namespace {

Tensor as_float(const Tensor& x, const char* op) {
  FORGE_CHECK(x.defined(), "[{}] input tensor is undefined", op);
  if (x.dtype() == DType::kF32) return x;
  FORGE_CHECK(!is_quantized(x.dtype()), "[{}] quantized dtype {} needs dequantizing first", op,
              dtype_name(x.dtype()));
  return x.to(DType::kF32);
}

template <typename F>
Tensor map_binary(const Tensor& a_in, const Tensor& b_in, const char* op, F f) {
  Tensor a = as_float(a_in, op);
  Tensor b = as_float(b_in, op);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), op));
  cpu::binary_kernel(a, b, out, f);
  return out;
}

template <typename F>
Tensor map_unary(const Tensor& x_in, const char* op, F f) {
  Tensor x = as_float(x_in, op);
  Tensor out = empty(x.shape());
  cpu::unary_kernel(x, out, f);
  return out;
}

Tensor mask_of(const Tensor& cond) { return cond.detach(); }

// Backward rules may reuse an op's saved (detached) output for speed. When the backward pass
// itself is being recorded (create_graph), the output is recomputed from the input instead,
// so that second derivatives see its dependence on the input.
template <typename F>
Tensor saved_or_recomputed(const Tensor& saved, F&& recompute) {
  return grad_enabled() ? recompute() : saved;
}

}  // namespace

// ---------------------------------------------------------------- binary arithmetic

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "add", [](float x, float y) { return x + y; });
  if (needs_grad({&a, &b})) {
    record("add", {a, b}, out, [sa = a.shape(), sb = b.shape()](const Tensors& g) {
      return Tensors{sum_to(g[0], sa), sum_to(g[0], sb)};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "sub", [](float x, float y) { return x - y; });
  if (needs_grad({&a, &b})) {
    record("sub", {a, b}, out, [sa = a.shape(), sb = b.shape()](const Tensors& g) {
      return Tensors{sum_to(g[0], sa), sum_to(neg(g[0]), sb)};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "mul", [](float x, float y) { return x * y; });
  if (needs_grad({&a, &b})) {
    record("mul", {a, b}, out, [a, b](const Tensors& g) {
      return Tensors{a.requires_grad() ? sum_to(mul(g[0], b), a.shape()) : Tensor(),
                     b.requires_grad() ? sum_to(mul(g[0], a), b.shape()) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "div", [](float x, float y) { return x / y; });
  if (needs_grad({&a, &b})) {
    record("div", {a, b}, out, [a, b](const Tensors& g) {
      Tensor ga = a.requires_grad() ? sum_to(div(g[0], b), a.shape()) : Tensor();
      Tensor gb = b.requires_grad() ? sum_to(neg(div(mul(g[0], a), mul(b, b))), b.shape()) : Tensor();
      return Tensors{ga, gb};
    });
  }
  return out;
}

Tensor pow(const Tensor& base, const Tensor& exponent) {
  Tensor out = map_binary(base, exponent, "pow", [](float x, float y) { return std::pow(x, y); });
  if (needs_grad({&base, &exponent})) {
    record("pow", {base, exponent}, out, [base, exponent, o_saved = out.detach()](const Tensors& g) {
      Tensor o = saved_or_recomputed(o_saved, [&] { return pow(base, exponent); });
      Tensor gb = base.requires_grad()
                      ? sum_to(mul(g[0], mul(exponent, pow(base, sub(exponent, scalar(1.0))))), base.shape())
                      : Tensor();
      Tensor ge = exponent.requires_grad() ? sum_to(mul(g[0], mul(o, log(base))), exponent.shape()) : Tensor();
      return Tensors{gb, ge};
    });
  }
  return out;
}

namespace {
// Gradient routing for maximum/minimum: ties split the gradient evenly (like PyTorch).
Tensors select_grads(const Tensor& g, const Tensor& a, const Tensor& b, bool is_max) {
  Tensor a_wins = is_max ? gt(a, b) : lt(a, b);
  Tensor tie = eq(a, b);
  Tensor wa = add(a_wins, mul(tie, 0.5));
  Tensor wb = rsub(1.0, wa);
  return Tensors{sum_to(mul(g, wa), a.shape()), sum_to(mul(g, wb), b.shape())};
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "maximum", [](float x, float y) { return x > y ? x : y; });
  if (needs_grad({&a, &b})) {
    record("maximum", {a, b}, out, [a, b](const Tensors& g) { return select_grads(g[0], a, b, true); });
  }
  return out;
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = map_binary(a, b, "minimum", [](float x, float y) { return x < y ? x : y; });
  if (needs_grad({&a, &b})) {
    record("minimum", {a, b}, out, [a, b](const Tensors& g) { return select_grads(g[0], a, b, false); });
  }
  return out;
}

Tensor add(const Tensor& a, double b) {
  const float v = static_cast<float>(b);
  Tensor out = map_unary(a, "add", [v](float x) { return x + v; });
  if (needs_grad({&a})) record("add", {a}, out, [](const Tensors& g) { return Tensors{g[0]}; });
  return out;
}

Tensor sub(const Tensor& a, double b) { return add(a, -b); }

Tensor mul(const Tensor& a, double b) {
  const float v = static_cast<float>(b);
  Tensor out = map_unary(a, "mul", [v](float x) { return x * v; });
  if (needs_grad({&a})) record("mul", {a}, out, [b](const Tensors& g) { return Tensors{mul(g[0], b)}; });
  return out;
}

Tensor div(const Tensor& a, double b) { return mul(a, 1.0 / b); }

Tensor pow(const Tensor& base, double exponent) {
  const float e = static_cast<float>(exponent);
  Tensor out = map_unary(base, "pow", [e](float x) { return e == 2.0f ? x * x : std::pow(x, e); });
  if (needs_grad({&base})) {
    record("pow", {base}, out, [base, exponent](const Tensors& g) {
      return Tensors{mul(g[0], mul(pow(base, exponent - 1.0), exponent))};
    });
  }
  return out;
}

Tensor rsub(double a, const Tensor& b) {
  const float v = static_cast<float>(a);
  Tensor out = map_unary(b, "rsub", [v](float x) { return v - x; });
  if (needs_grad({&b})) record("rsub", {b}, out, [](const Tensors& g) { return Tensors{neg(g[0])}; });
  return out;
}

Tensor rdiv(double a, const Tensor& b) {
  const float v = static_cast<float>(a);
  Tensor out = map_unary(b, "rdiv", [v](float x) { return v / x; });
  if (needs_grad({&b})) {
    record("rdiv", {b}, out, [a, b](const Tensors& g) { return Tensors{mul(g[0], rdiv(-a, mul(b, b)))}; });
  }
  return out;
}

// ---------------------------------------------------------------- comparisons

#define FORGE_COMPARISON(name, expr)                                                            \
  Tensor name(const Tensor& a, const Tensor& b) {                                               \
    return map_binary(a, b, #name, [](float x, float y) { return (expr) ? 1.0f : 0.0f; });      \
  }
FORGE_COMPARISON(eq, x == y)
FORGE_COMPARISON(ne, x != y)
FORGE_COMPARISON(lt, x < y)
FORGE_COMPARISON(le, x <= y)
FORGE_COMPARISON(gt, x > y)
FORGE_COMPARISON(ge, x >= y)
#undef FORGE_COMPARISON

Tensor gt(const Tensor& a, double b) { return gt(a, scalar(b)); }
Tensor ge(const Tensor& a, double b) { return ge(a, scalar(b)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar(b)); }
Tensor le(const Tensor& a, double b) { return le(a, scalar(b)); }
Tensor eq(const Tensor& a, double b) { return eq(a, scalar(b)); }

Tensor where(const Tensor& cond_in, const Tensor& a_in, const Tensor& b_in) {
  Tensor cond = as_float(cond_in, "where");
  Tensor a = as_float(a_in, "where");
  Tensor b = as_float(b_in, "where");
  const Shape shape = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Tensor out = empty(shape);
  const float* pc = static_cast<const float*>(cond.storage()->data());
  const float* pa = static_cast<const float*>(a.storage()->data());
  const float* pb = static_cast<const float*>(b.storage()->data());
  float* po = out.data<float>();
  cpu::StridedLoop<4> loop(shape, {cpu::broadcast_strides(cond.shape(), cond.strides(), shape),
                                   cpu::broadcast_strides(a.shape(), a.strides(), shape),
                                   cpu::broadcast_strides(b.shape(), b.strides(), shape), out.strides()});
  loop.run({cond.offset(), a.offset(), b.offset(), 0}, [&](const auto& off, int64_t n, const auto& st) {
    for (int64_t i = 0; i < n; ++i) {
      po[off[3] + i * st[3]] = pc[off[0] + i * st[0]] != 0.0f ? pa[off[1] + i * st[1]] : pb[off[2] + i * st[2]];
    }
  });
  if (needs_grad({&a_in, &b_in})) {
    record("where", {a_in, b_in}, out, [mask = mask_of(cond), sa = a.shape(), sb = b.shape()](const Tensors& g) {
      Tensor zero = zeros({});
      return Tensors{sum_to(where(mask, g[0], zero), sa), sum_to(where(mask, zero, g[0]), sb)};
    });
  }
  return out;
}

Tensor clamp(const Tensor& x, double low, double high) {
  FORGE_CHECK(low <= high, "[clamp] low {} exceeds high {}", low, high);
  const float lo = static_cast<float>(low);
  const float hi = static_cast<float>(high);
  Tensor out = map_unary(x, "clamp", [lo, hi](float v) { return v < lo ? lo : (v > hi ? hi : v); });
  if (needs_grad({&x})) {
    record("clamp", {x}, out, [x, low, high](const Tensors& g) {
      return Tensors{mul(g[0], mul(ge(x, low), le(x, high)))};
    });
  }
  return out;
}

// ---------------------------------------------------------------- unary math

Tensor neg(const Tensor& x) {
  Tensor out = map_unary(x, "neg", [](float v) { return -v; });
  if (needs_grad({&x})) record("neg", {x}, out, [](const Tensors& g) { return Tensors{neg(g[0])}; });
  return out;
}

Tensor exp(const Tensor& x) {
  Tensor out = map_unary(x, "exp", [](float v) { return std::exp(v); });
  if (needs_grad({&x})) {
    record("exp", {x}, out, [x, o = out.detach()](const Tensors& g) {
      return Tensors{mul(g[0], saved_or_recomputed(o, [&] { return exp(x); }))};
    });
  }
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = map_unary(x, "log", [](float v) { return std::log(v); });
  if (needs_grad({&x})) record("log", {x}, out, [x](const Tensors& g) { return Tensors{div(g[0], x)}; });
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = map_unary(x, "sqrt", [](float v) { return std::sqrt(v); });
  if (needs_grad({&x})) {
    record("sqrt", {x}, out, [x, o = out.detach()](const Tensors& g) {
      return Tensors{div(g[0], mul(saved_or_recomputed(o, [&] { return sqrt(x); }), 2.0))};
    });
  }
  return out;
}

Tensor rsqrt(const Tensor& x) {
  Tensor out = map_unary(x, "rsqrt", [](float v) { return 1.0f / std::sqrt(v); });
  if (needs_grad({&x})) {
    record("rsqrt", {x}, out, [x, o = out.detach()](const Tensors& g) {
      return Tensors{mul(g[0], mul(pow(saved_or_recomputed(o, [&] { return rsqrt(x); }), 3.0), -0.5))};
    });
  }
  return out;
}

Tensor abs(const Tensor& x) {
  Tensor out = map_unary(x, "abs", [](float v) { return std::fabs(v); });
  if (needs_grad({&x})) record("abs", {x}, out, [x](const Tensors& g) { return Tensors{mul(g[0], sign(x))}; });
  return out;
}

Tensor square(const Tensor& x) {
  Tensor out = map_unary(x, "square", [](float v) { return v * v; });
  if (needs_grad({&x})) {
    record("square", {x}, out, [x](const Tensors& g) { return Tensors{mul(g[0], mul(x, 2.0))}; });
  }
  return out;
}

Tensor sign(const Tensor& x) {
  return map_unary(x, "sign", [](float v) { return v > 0 ? 1.0f : (v < 0 ? -1.0f : 0.0f); });
}

Tensor sin(const Tensor& x) {
  Tensor out = map_unary(x, "sin", [](float v) { return std::sin(v); });
  if (needs_grad({&x})) record("sin", {x}, out, [x](const Tensors& g) { return Tensors{mul(g[0], cos(x))}; });
  return out;
}

Tensor cos(const Tensor& x) {
  Tensor out = map_unary(x, "cos", [](float v) { return std::cos(v); });
  if (needs_grad({&x})) {
    record("cos", {x}, out, [x](const Tensors& g) { return Tensors{neg(mul(g[0], sin(x)))}; });
  }
  return out;
}

// ---------------------------------------------------------------- activations

Tensor relu(const Tensor& x) {
  Tensor out = map_unary(x, "relu", [](float v) { return v > 0 ? v : 0.0f; });
  if (needs_grad({&x})) {
    record("relu", {x}, out, [o = out.detach()](const Tensors& g) { return Tensors{mul(g[0], gt(o, 0.0))}; });
  }
  return out;
}

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  const float s = static_cast<float>(negative_slope);
  Tensor out = map_unary(x, "leaky_relu", [s](float v) { return v > 0 ? v : v * s; });
  if (needs_grad({&x})) {
    record("leaky_relu", {x}, out, [x, negative_slope](const Tensors& g) {
      Tensor positive = gt(x, 0.0);
      return Tensors{mul(g[0], add(positive, mul(rsub(1.0, positive), negative_slope)))};
    });
  }
  return out;
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = map_unary(x, "sigmoid", [](float v) {
    // Stable for large |v|: never exponentiates a large positive number.
    if (v >= 0) return 1.0f / (1.0f + std::exp(-v));
    const float e = std::exp(v);
    return e / (1.0f + e);
  });
  if (needs_grad({&x})) {
    record("sigmoid", {x}, out, [x, o_saved = out.detach()](const Tensors& g) {
      Tensor o = saved_or_recomputed(o_saved, [&] { return sigmoid(x); });
      return Tensors{mul(g[0], mul(o, rsub(1.0, o)))};
    });
  }
  return out;
}

Tensor tanh(const Tensor& x) {
  Tensor out = map_unary(x, "tanh", [](float v) { return std::tanh(v); });
  if (needs_grad({&x})) {
    record("tanh", {x}, out, [x, o_saved = out.detach()](const Tensors& g) {
      Tensor o = saved_or_recomputed(o_saved, [&] { return tanh(x); });
      return Tensors{mul(g[0], rsub(1.0, mul(o, o)))};
    });
  }
  return out;
}

namespace {
// The exact GELU of a contiguous f32 tensor through the AVX2 kernel.
Tensor gelu_exact_f32(const Tensor& x) {
  Tensor out = empty(x.shape());
  cpu::gelu_forward(x.data<float>(), out.data<float>(), x.numel());
  return out;
}
}  // namespace

Tensor gelu(const Tensor& x, bool approximate) {
  constexpr float kInvSqrt2 = 0.70710678118654752f;
  constexpr float kSqrt2OverPi = 0.79788456080286536f;
  Tensor out = approximate ? map_unary(x, "gelu",
                                       [](float v) {
                                         const float inner = kSqrt2OverPi * (v + 0.044715f * v * v * v);
                                         return 0.5f * v * (1.0f + std::tanh(inner));
                                       })
                    : x.dtype() == DType::kF32 && x.is_contiguous()
                        ? gelu_exact_f32(x)
                        : map_unary(x, "gelu", [](float v) { return 0.5f * v * (1.0f + cpu::erf_approx(v * kInvSqrt2)); });
  if (needs_grad({&x})) {
    record("gelu", {x}, out, [x, approximate](const Tensors& g) {
      if (!approximate && !grad_enabled() && x.dtype() == DType::kF32 && g[0].dtype() == DType::kF32 &&
          g[0].shape() == x.shape()) {
        // One fused pass (no graph to build for higher derivatives).
        const Tensor xc = x.detach().contiguous(), gc = g[0].contiguous();
        Tensor gx = empty(x.shape());
        cpu::gelu_backward(xc.data<float>(), gc.data<float>(), gx.data<float>(), gx.numel());
        return Tensors{gx};
      }
      if (!approximate) {
        // d/dx x*Phi(x) = Phi(x) + x*phi(x)
        Tensor cdf = map_unary(x, "gelu_backward", [](float v) { return 0.5f * (1.0f + cpu::erf_approx(v * kInvSqrt2)); });
        Tensor pdf = mul(exp(mul(square(x), -0.5)), 1.0 / std::sqrt(2.0 * std::numbers::pi));
        return Tensors{mul(g[0], add(cdf, mul(x, pdf)))};
      }
      Tensor inner = mul(add(x, mul(pow(x, 3.0), 0.044715)), static_cast<double>(kSqrt2OverPi));
      Tensor th = tanh(inner);
      Tensor dinner = mul(add(mul(square(x), 3.0 * 0.044715), 1.0), static_cast<double>(kSqrt2OverPi));
      Tensor d = add(mul(add(th, 1.0), 0.5), mul(mul(x, 0.5), mul(rsub(1.0, square(th)), dinner)));
      return Tensors{mul(g[0], d)};
    });
  }
  return out;
}

Tensor silu(const Tensor& x) {
  Tensor out = map_unary(x, "silu", [](float v) { return v / (1.0f + std::exp(-v)); });
  if (needs_grad({&x})) {
    record("silu", {x}, out, [x](const Tensors& g) {
      Tensor s = sigmoid(x);
      return Tensors{mul(g[0], mul(s, add(mul(x, rsub(1.0, s)), 1.0)))};
    });
  }
  return out;
}

// ---------------------------------------------------------------- in place

namespace {
void check_inplace(const Tensor& dst, const Tensor& src, const char* op) {
  FORGE_CHECK(dst.dtype() == DType::kF32, "[{}] destination must be float32, got {}", op, dtype_name(dst.dtype()));
  FORGE_CHECK(!(grad_enabled() && dst.requires_grad()),
              "[{}] in-place update of a tensor that requires grad; do it inside a NoGradGuard", op);
  const Shape b = broadcast_shapes(dst.shape(), src.shape(), op);
  FORGE_CHECK(b == dst.shape(), "[{}] source {} does not broadcast to destination {}", op, shape_str(src.shape()),
              shape_str(dst.shape()));
}
}  // namespace

void add_(const Tensor& dst, const Tensor& src_in, double alpha) {
  Tensor src = as_float(src_in, "add_");
  check_inplace(dst, src, "add_");
  const float a = static_cast<float>(alpha);
  if (a == 1.0f) {
    cpu::inplace_kernel(dst, src, [](float d, float s) { return d + s; });
  } else {
    cpu::inplace_kernel(dst, src, [a](float d, float s) { return d + a * s; });
  }
}

void mul_(const Tensor& dst, double value) {
  Tensor v = scalar(value);
  check_inplace(dst, v, "mul_");
  cpu::inplace_kernel(dst, v, [](float d, float s) { return d * s; });
}

void copy_(const Tensor& dst, const Tensor& src) {
  FORGE_CHECK(broadcast_shapes(dst.shape(), src.shape(), "copy_") == dst.shape(),
              "[copy_] source {} does not broadcast to destination {}", shape_str(src.shape()), shape_str(dst.shape()));
  if (src.shape() == dst.shape()) {
    cpu::copy_cast(src, dst);
  } else {
    cpu::copy_cast(src.expand(dst.shape()), dst);
  }
}

void fill_(const Tensor& dst, double value) { cpu::fill(dst, value); }

}  // namespace forge
