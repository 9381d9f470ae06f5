#include "ops/quant.h"

#include <cstring>

#include "autograd/grad_mode.h"
#include "core/parallel.h"
#include "ops/linalg.h"

namespace forge {

namespace {

// Raw bytes of a quantized tensor, which must be a whole (offset-free, contiguous) block buffer.
const void* quant_bytes(const Tensor& t, const char* op) {
  FORGE_CHECK(t.is_contiguous() && t.offset() == 0, "[{}] quantized tensors must be contiguous, got strides {}", op,
              shape_str(t.strides()));
  return t.raw_data();
}

}  // namespace

Tensor dequantize(const Tensor& t) {
  FORGE_CHECK(t.defined(), "[dequantize] tensor is undefined");
  if (!is_quantized(t.dtype())) {
    FORGE_CHECK(is_floating(t.dtype()), "[dequantize] expected a float or quantized tensor, got {}",
                dtype_name(t.dtype()));
    return t.to(DType::kF32).contiguous();
  }
  const void* src = quant_bytes(t, "dequantize");
  Tensor out = empty(t.shape(), DType::kF32);
  const int64_t inner = t.dim() ? t.shape().back() : 1;
  const int64_t rows = inner ? t.numel() / inner : 0;
  const size_t row_bytes = nbytes_for(t.dtype(), inner);
  float* dst = out.data<float>();
  parallel_for(0, rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      cpu::dequantize_row(t.dtype(), static_cast<const uint8_t*>(src) + r * row_bytes, dst + r * inner, inner);
    }
  });
  return out;
}

Tensor quantize(const Tensor& x, DType dtype) {
  FORGE_CHECK(x.defined(), "[quantize] tensor is undefined");
  FORGE_CHECK(cpu::can_quantize(dtype), "[quantize] cannot quantize to {} (supported: float16, bfloat16, q8_0, q4_0, "
              "q4_1, q5_0, q5_1, q4_K, q5_K, q6_K)", dtype_name(dtype));
  FORGE_CHECK(is_floating(x.dtype()) && !is_quantized(x.dtype()), "[quantize] input must be a float tensor, got {}",
              dtype_name(x.dtype()));
  FORGE_CHECK(x.dim() >= 1, "[quantize] input must have at least one dimension");
  const int64_t inner = x.shape().back();
  FORGE_CHECK(inner % block_size(dtype) == 0, "[quantize] last dimension {} is not a multiple of the {} block size {}",
              inner, dtype_name(dtype), block_size(dtype));
  Tensor src = x.to(DType::kF32).contiguous();
  Tensor out = empty(x.shape(), dtype);
  const int64_t rows = inner ? x.numel() / inner : 0;
  const size_t row_bytes = nbytes_for(dtype, inner);
  const float* s = src.data<float>();
  auto* dst = static_cast<uint8_t*>(out.raw_data());
  parallel_for(0, rows, 4, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) cpu::quantize_row(dtype, s + r * inner, dst + r * row_bytes, inner);
  });
  return out;
}

Tensor quant_linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  return quant_linear(x, weight, bias, cpu::best_quant_isa());
}

Tensor quant_linear(const Tensor& x, const Tensor& weight, const Tensor& bias, cpu::QuantIsa isa) {
  FORGE_CHECK(x.defined() && weight.defined(), "[quant_linear] input and weight must be defined");
  FORGE_CHECK(weight.dim() == 2, "[quant_linear] weight must be 2-d [out_features, in_features], got {}",
              shape_str(weight.shape()));
  FORGE_CHECK(x.dim() >= 1, "[quant_linear] input must have at least one dimension");
  const int64_t N = weight.shape()[0], K = weight.shape()[1];
  FORGE_CHECK(x.shape().back() == K, "[quant_linear] input features {} do not match the weight {} (in_features {})",
              x.shape().back(), shape_str(weight.shape()), K);
  FORGE_CHECK(is_floating(x.dtype()) && !is_quantized(x.dtype()), "[quant_linear] input must be float, got {}",
              dtype_name(x.dtype()));
  if (bias.defined()) {
    FORGE_CHECK(bias.dim() == 1 && bias.shape()[0] == N, "[quant_linear] bias must be [{}], got {}", N,
                shape_str(bias.shape()));
  }
  if (!is_quantized(weight.dtype())) {  // plain float weights: the differentiable linear op
    const Tensor xf = x.dtype() == DType::kF32 ? x : x.to(DType::kF32);
    const Tensor wf = weight.dtype() == DType::kF32 ? weight : weight.to(DType::kF32);
    const Tensor bf = !bias.defined() || bias.dtype() == DType::kF32 ? bias : bias.to(DType::kF32);
    return linear(xf, wf, bf);
  }
  FORGE_CHECK(!(grad_enabled() && x.requires_grad()),
              "[quant_linear] quantized weights ({}) are inference-only; run under NoGradGuard or detach the input",
              dtype_name(weight.dtype()));
  if (!cpu::quant_matmul_supported(weight.dtype())) {
    return linear(x.to(DType::kF32).detach(), dequantize(weight), bias.defined() ? bias.to(DType::kF32).detach() : bias);
  }
  const Tensor xf = x.to(DType::kF32).contiguous();
  const Tensor bf = bias.defined() ? bias.to(DType::kF32).contiguous() : Tensor();
  Shape out_shape = x.shape();
  out_shape.back() = N;
  Tensor out = empty(out_shape, DType::kF32);
  const int64_t M = K ? xf.numel() / K : 0;
  cpu::quant_matmul(xf.data<float>(), M, K, quant_bytes(weight, "quant_linear"), weight.dtype(), N,
                    bf.defined() ? bf.data<float>() : nullptr, out.data<float>(), isa);
  return out;
}

}  // namespace forge
