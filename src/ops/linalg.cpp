#include "ops/linalg.h"

#include "autograd/node.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/gemm_bf16.h"  // bf16 dispatch hook (branch perfcnn)
#include "ops/precision.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"
#include "ops/view.h"

namespace forge {

namespace {

Tensor as_float(const Tensor& x, const char* op) {
  FORGE_CHECK(x.defined(), "[{}] input tensor is undefined", op);
  return x.dtype() == DType::kF32 ? x : x.to(DType::kF32);
}

// A matrix operand as GEMM sees it: row-major with leading dimension, or transposed.
struct MatrixView {
  bool transposed;
  int64_t ld;
};

// Returns how the last two axes can be fed to GEMM, or nullopt-like {false, -1} if a copy is needed.
MatrixView matrix_view(const Tensor& x) {
  const int64_t rows = x.shape()[x.shape().size() - 2];
  const int64_t cols = x.shape().back();
  const int64_t rs = x.strides()[x.strides().size() - 2];
  const int64_t cs = x.strides().back();
  if (cs == 1 && (rs >= cols || rows == 1)) return {false, std::max<int64_t>(rs, cols)};
  if (rs == 1 && (cs >= rows || cols == 1)) return {true, std::max<int64_t>(cs, rows)};
  return {false, -1};
}

// Both operands at least 2-D; batch axes broadcast.
Tensor matmul_nd(const Tensor& a_in, const Tensor& b_in) {
  Tensor a = as_float(a_in, "matmul");
  Tensor b = as_float(b_in, "matmul");
  const int64_t m = a.shape()[a.shape().size() - 2];
  const int64_t k = a.shape().back();
  const int64_t kb = b.shape()[b.shape().size() - 2];
  const int64_t n = b.shape().back();
  FORGE_CHECK(k == kb, "[matmul] inner dimensions differ: {} x {}", shape_str(a_in.shape()), shape_str(b_in.shape()));
  const Shape batch_a(a.shape().begin(), a.shape().end() - 2);
  const Shape batch_b(b.shape().begin(), b.shape().end() - 2);
  const Shape batch = broadcast_shapes(batch_a, batch_b, "matmul");
  Shape out_shape = batch;
  out_shape.push_back(m);
  out_shape.push_back(n);
  Tensor out = empty(out_shape);
  const int64_t batches = numel_of(batch);

  if (batch_b.empty() && a.is_contiguous()) {
    // [..., M, K] @ [K, N]: fold the batch into M, one GEMM.
    MatrixView vb = matrix_view(b);
    if (vb.ld < 0) {
      b = b.contiguous();
      vb = {false, n};
    }
    cpu::gemm(math_precision() == Precision::kBF16, false, vb.transposed, batches * m, n, k, 1.0f, a.data<float>(), k,
              b.data<float>(), vb.ld, 0.0f, out.data<float>(), n);
  } else {
    Shape a_full = batch, b_full = batch;
    a_full.insert(a_full.end(), {m, k});
    b_full.insert(b_full.end(), {k, n});
    Tensor ae = a.expand(a_full);
    Tensor be = b.expand(b_full);
    MatrixView va = matrix_view(ae);
    MatrixView vb = matrix_view(be);
    if (va.ld < 0) {
      ae = ae.contiguous();
      va = {false, k};
    }
    if (vb.ld < 0) {
      be = be.contiguous();
      vb = {false, n};
    }
    const float* pa = static_cast<const float*>(ae.storage()->data());
    const float* pb = static_cast<const float*>(be.storage()->data());
    float* po = out.data<float>();
    const size_t nb = batch.size();
    Shape index(nb, 0);
    for (int64_t i = 0; i < batches; ++i) {
      int64_t oa = ae.offset(), ob = be.offset();
      for (size_t d = 0; d < nb; ++d) {
        oa += index[d] * ae.strides()[d];
        ob += index[d] * be.strides()[d];
      }
      cpu::gemm(math_precision() == Precision::kBF16, va.transposed, vb.transposed, m, n, k, 1.0f, pa + oa, va.ld,
                pb + ob, vb.ld, 0.0f, po + i * m * n, n);
      for (size_t d = nb; d-- > 0;) {
        if (++index[d] < batch[d]) break;
        index[d] = 0;
      }
    }
  }

  if (needs_grad({&a_in, &b_in})) {
    record("matmul", {a_in, b_in}, out, [a, b](const Tensors& g) {
      Tensor ga = a.requires_grad() ? sum_to(matmul_nd(g[0], b.t()), a.shape()) : Tensor();
      Tensor gb = b.requires_grad() ? sum_to(matmul_nd(a.t(), g[0]), b.shape()) : Tensor();
      return Tensors{ga, gb};
    });
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  FORGE_CHECK(a.defined() && b.defined(), "[matmul] input tensor is undefined");
  FORGE_CHECK(a.dim() >= 1 && b.dim() >= 1, "[matmul] 0-d operands are not allowed: {} x {}", shape_str(a.shape()),
              shape_str(b.shape()));
  if (a.dim() == 1 && b.dim() == 1) {
    FORGE_CHECK(a.shape()[0] == b.shape()[0], "[matmul] inner dimensions differ: {} x {}", shape_str(a.shape()),
                shape_str(b.shape()));
    return matmul_nd(a.unsqueeze(0), b.unsqueeze(1)).reshape({});
  }
  if (a.dim() == 1) {
    FORGE_CHECK(a.shape()[0] == b.shape()[b.shape().size() - 2], "[matmul] inner dimensions differ: {} x {}",
                shape_str(a.shape()), shape_str(b.shape()));
    return matmul_nd(a.unsqueeze(0), b).squeeze(-2);
  }
  if (b.dim() == 1) {
    FORGE_CHECK(a.shape().back() == b.shape()[0], "[matmul] inner dimensions differ: {} x {}", shape_str(a.shape()),
                shape_str(b.shape()));
    return matmul_nd(a, b.unsqueeze(1)).squeeze(-1);
  }
  return matmul_nd(a, b);
}

namespace {

// y = x @ w^T (+ bias), then ReLU in place when `relu`: one GEMM and at most one extra pass
// over the (cache-resident) output.
Tensor linear_impl(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in, bool relu_out) {
  const char* op = relu_out ? "linear_relu" : "linear";
  FORGE_CHECK(x_in.defined() && weight_in.defined(), "[{}] input or weight is undefined", op);
  FORGE_CHECK(weight_in.dim() == 2, "[{}] weight must be 2-d [out_features, in_features], got {}", op,
              shape_str(weight_in.shape()));
  FORGE_CHECK(x_in.dim() >= 1, "[{}] input must be at least 1-d", op);
  const int64_t in_features = weight_in.shape()[1];
  const int64_t out_features = weight_in.shape()[0];
  FORGE_CHECK(x_in.shape().back() == in_features, "[{}] input has {} features (shape {}) but weight {} expects {}",
              op, x_in.shape().back(), shape_str(x_in.shape()), shape_str(weight_in.shape()), in_features);
  if (bias_in.defined()) {
    FORGE_CHECK(bias_in.dim() == 1 && bias_in.shape()[0] == out_features,
                "[{}] bias of shape {} does not match {} output features", op, shape_str(bias_in.shape()),
                out_features);
  }
  Tensor x = as_float(x_in, op).contiguous();
  Tensor w = as_float(weight_in, op);
  MatrixView vw = matrix_view(w);
  if (vw.ld < 0) {
    w = w.contiguous();
    vw = {false, in_features};
  }
  const int64_t rows = x.numel() / in_features;
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  Tensor out = empty(out_shape);
  float* po = out.data<float>();
  float beta = 0.0f;
  if (bias_in.defined()) {
    Tensor bias = as_float(bias_in, op).contiguous();
    const float* pb = bias.data<float>();
    for (int64_t r = 0; r < rows; ++r) std::copy(pb, pb + out_features, po + r * out_features);
    beta = 1.0f;
  }
  // out[rows, out] = x[rows, in] @ w^T ; w is [out, in] row-major, i.e. transposed for GEMM.
  cpu::gemm(math_precision() == Precision::kBF16, false, !vw.transposed, rows, out_features, in_features, 1.0f,
            x.data<float>(), in_features, w.data<float>(), vw.ld, beta, po, out_features);
  if (relu_out) {
    const int64_t total = rows * out_features;
    for (int64_t i = 0; i < total; ++i) po[i] = po[i] > 0.0f ? po[i] : 0.0f;
  }

  if (needs_grad({&x_in, &weight_in, &bias_in})) {
    Tensor saved_out = relu_out ? out.detach() : Tensor();
    record(op, {x_in, weight_in, bias_in}, out,
           [x_in, weight_in, bias_in, in_features, saved_out](const Tensors& g) {
             // ReLU's gradient mask first (out > 0 exactly where the pre-activation was).
             Tensor gy = saved_out.defined() ? mul(g[0], gt(saved_out, 0.0)) : g[0];
             Tensor g2 = gy.reshape({-1, gy.shape().back()});
             Tensor gx = x_in.requires_grad() ? matmul(gy, weight_in).reshape(x_in.shape()) : Tensor();
             Tensor gw = weight_in.requires_grad() ? matmul(g2.t(), x_in.reshape({-1, in_features})) : Tensor();
             Tensor gb = bias_in.defined() && bias_in.requires_grad() ? sum(g2, {0}) : Tensor();
             return Tensors{gx, gw, gb};
           });
  }
  return out;
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) { return linear_impl(x, weight, bias, false); }

Tensor linear_relu(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return linear_impl(x, weight, bias, true);
}

}  // namespace forge
