#pragma once
#include "core/tensor.h"

namespace forge {

// NumPy matmul: 1-D x 1-D is a dot product; 1-D operands are promoted and the added axis
// removed; leading (batch) axes broadcast. Transposed views are passed to GEMM without copies.
// Errors: "[matmul] inner dimensions differ: (64,784) x (128,10)".
Tensor matmul(const Tensor& a, const Tensor& b);

// y = x @ weight^T + bias, with weight [out_features, in_features] (PyTorch layout) and x
// [..., in_features]. bias is optional ([out_features]). One GEMM, bias fused.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// relu(linear(x, weight, bias)) in one op: the ReLU runs on the GEMM output while it is in
// cache, and the backward masks the gradient once. Same errors as linear, named "[linear_relu]".
Tensor linear_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace forge
