#include "ops/softmax.h"

#include <algorithm>

#include "autograd/node.h"
#include "backend/cpu/softmax.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace forge {

namespace {

// Runs the fused kernel on a contiguous float32 copy viewed as [outer, n, inner].
Tensor softmax_kernel(const Tensor& x_in, int64_t axis, bool log, const char* op) {
  FORGE_CHECK(x_in.defined(), "[{}] input tensor is undefined", op);
  FORGE_CHECK(!is_quantized(x_in.dtype()), "[{}] quantized dtype {} needs dequantizing first", op,
              dtype_name(x_in.dtype()));
  // A 0-d tensor behaves like one element along axis 0 (as in PyTorch).
  const int64_t nd = std::max<int64_t>(x_in.dim(), 1);
  const int64_t a = normalize_axis(axis, nd, op);
  Tensor x = (x_in.dtype() == DType::kF32 ? x_in.detach() : x_in.detach().to(DType::kF32)).contiguous();
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t i = 0; i < x.dim(); ++i) {
    const int64_t d = x.shape()[static_cast<size_t>(i)];
    (i < a ? outer : (i == a ? n : inner)) *= d;
  }
  Tensor out = empty(x.shape());
  cpu::softmax_forward(x.data<float>(), out.data<float>(), outer, n, inner, log);
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t axis) {
  Tensor out = softmax_kernel(x, axis, false, "softmax");
  if (needs_grad({&x})) {
    const int64_t a = normalize_axis(axis, std::max<int64_t>(x.dim(), 1), "softmax");
    record("softmax", {x}, out, [y = out.detach(), a, scalar_input = x.dim() == 0](const Tensors& g) {
      if (scalar_input) return Tensors{mul(g[0], 0.0)};
      Tensor gy = mul(g[0], y);
      return Tensors{sub(gy, mul(y, sum(gy, {a}, true)))};
    });
  }
  return out;
}

Tensor log_softmax(const Tensor& x, int64_t axis) {
  Tensor out = softmax_kernel(x, axis, true, "log_softmax");
  if (needs_grad({&x})) {
    const int64_t a = normalize_axis(axis, std::max<int64_t>(x.dim(), 1), "log_softmax");
    record("log_softmax", {x}, out, [y = out.detach(), a, scalar_input = x.dim() == 0](const Tensors& g) {
      if (scalar_input) return Tensors{mul(g[0], 0.0)};
      return Tensors{sub(g[0], mul(exp(y), sum(g[0], {a}, true)))};
    });
  }
  return out;
}

}  // namespace forge
