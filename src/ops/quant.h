#pragma once
// Quantized tensors (GGUF block formats: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K) and
// the quantized linear layer used for inference. These ops are not differentiable.
#include "backend/cpu/quant.h"
#include "core/tensor.h"

namespace forge {

// A contiguous f32 copy of any float or quantized tensor (same shape). Bit-exact with ggml.
Tensor dequantize(const Tensor& t);

// Quantizes a float tensor (f32/f16/bf16/f64) to `dtype` (F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1, Q4_K, Q5_K, Q6_K) along its last dimension, which must be a multiple of the block size
// ("[quantize] last dimension 100 is not a multiple of the q4_K block size 256").
Tensor quantize(const Tensor& x, DType dtype);

// y = x · weightᵀ + bias with x [..., in_features] (f32; f16/bf16 are converted) and weight
// [out_features, in_features] in f32, f16, bf16 or any quantized dtype. Q8_0, Q4_0, Q4_1, Q4_K
// and Q6_K weights use the integer kernels (activations quantized to 8 bits); other quantized
// dtypes are dequantized first. Inference only: throws when x requires grad under grad mode.
Tensor quant_linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// The same, forcing one kernel path (tests and benchmarks; throws when the CPU lacks it).
Tensor quant_linear(const Tensor& x, const Tensor& weight, const Tensor& bias, cpu::QuantIsa isa);

}  // namespace forge
