#pragma once
// Inference-only building blocks shared by the pretrained architectures (Llama, GPT-2, BERT):
// they work on raw row-major f32 buffers owned by the model (no Tensor, no autograd, no
// allocation), so a decode step reuses the same memory every token.
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backend/cpu/quant_packed.h"
#include "core/tensor.h"

namespace forge::models {

// A linear layer's weight [out, in] in any storage Forge can multiply with: f32 (oneDNN sgemm)
// or a GGUF block-quantized / f16 / bf16 tensor (quantized matvec kernels). `transposed` marks
// GPT-2 Conv1D weights stored [in, out] (f32 only).
struct LinearWeight {
  Tensor weight;
  Tensor bias;  // optional f32 [out]
  int64_t in = 0, out = 0;
  bool transposed = false;
  // Q4_0/Q4_1/Q8_0 weights repacked at load into the 16-row interleaved layout when the CPU has
  // AVX-512 VNNI (cpu/quant_packed.h); linear_into then uses it for every row count.
  std::shared_ptr<const cpu::PackedQuantMatrix> packed;
};

// Builds a LinearWeight, checking that `weight` is 2-d [out, in] (or [in, out] when transposed)
// and that `bias` (when given) is [out]; `what` names the tensor in errors.
LinearWeight make_linear(const Tensor& weight, const Tensor& bias, const std::string& what, bool transposed = false);

// Quantized weights with at least this many activation rows are dequantized into `scratch` and
// multiplied with f32 GEMM (prefill); fewer rows use the integer-dot kernels (decode).
constexpr int64_t kDequantGemmRows = 32;
// y[m, out] = x[m, in] · Wᵀ (+ bias). `scratch` is reused between calls (it only grows).
void linear_into(const LinearWeight& w, const float* x, int64_t m, float* y, std::vector<float>& scratch);
// Several linear layers reading the same input x[m, in] (q/k/v, gate/up): {weight, output} pairs.
// Packed weights share one 8-bit quantization of x; others run linear_into one by one.
void linears_into(std::initializer_list<std::pair<const LinearWeight*, float*>> layers, const float* x, int64_t m,
                  std::vector<float>& scratch);

// Row `row` of an embedding table [rows, dim] (any dtype) as f32 into `out` (dim floats).
void embedding_row(const Tensor& table, int64_t row, float* out);
// The same from the packed copy of a quantized table (a tied output matrix's LinearWeight::packed),
// bit-exact with embedding_row on the table it was packed from; the table's file pages are then
// never touched again.
void embedding_row(const cpu::PackedQuantMatrix& table, int64_t row, float* out);

// A 1-d f32 copy of a norm weight / bias of any float dtype (checks the length).
std::vector<float> vector_f32(const Tensor& t, int64_t expected, const std::string& what);

// Row-wise norms over m rows of length n (y may alias x).
void rms_norm_rows(const float* x, int64_t m, int64_t n, const float* gain, float eps, float* y);
void layer_norm_rows(const float* x, int64_t m, int64_t n, const float* gain, const float* bias, float eps, float* y);
// a = silu(a) * b, n elements.
void silu_mul(float* a, const float* b, int64_t n);
// GELU, exact (erf) or the tanh approximation GPT-2 uses. The erf form is cpu::gelu_forward
// (backend/cpu/gelu.h: the one vectorized erf of the project, within 1.6 ulp of std::erf).
void gelu_inplace(float* x, int64_t n, bool tanh_approx);
// x[i] += r[i] for i < n (residual add, vectorized).
void add_inplace(float* x, const float* r, int64_t n);
// Post-norm residual step over m rows of n: x = LayerNorm(x + h + h_bias) (h_bias [n] may be
// null), one pass per row, rows split over the threads.
void add_layer_norm_rows(float* x, const float* h, const float* h_bias, int64_t m, int64_t n, const float* gain,
                         const float* bias, float eps);
// y[i][j] += bias[j] over m rows of n, then GELU when `gelu` (exact erf, or tanh when
// `tanh_approx`); one pass, rows split over the threads.
void bias_act_rows(float* y, const float* bias, int64_t m, int64_t n, bool gelu, bool tanh_approx);
// Full (bidirectional, unmasked) attention of one sequence of n tokens for one head:
// out = softmax(scale * q kᵀ) v with q, k, v [n][hd] at row stride `ld` (one head's columns of a
// fused [n][3d] or [n][d] buffer) and out [n][hd] at row stride `ld_out`. Two sgemm calls and a
// row softmax; `scores` is scratch of at least n*n floats.
void attend_full(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t hd, float scale,
                 float* out, int64_t ld_out, float* scores);
// Causal attention of one query position over `len` cached positions, for `kv_heads` consecutive
// KV heads and the `group` query heads sharing each (grouped-query attention). q and out are
// [kv_heads * group][hd] (contiguous); head j's key at position s is at k + s*kv_stride + j*hd
// (values likewise). The cached rows are read once, in order, for all heads
// (cpu::attention_scores / attention_weighted_sum); a head's result does not depend on which
// other heads share the call. `scores` is scratch of at least kv_heads*group*len floats.
void attend_cached(const float* q, int64_t kv_heads, int64_t group, int64_t hd, const float* k, const float* v,
                   int64_t kv_stride, int64_t len, float scale, float* scores, float* out);
// Numerically stable softmax of n values in place.
void softmax_inplace(float* x, int64_t n);

}  // namespace forge::models
