#pragma once
// GGUF block quantization on the CPU: bit-exact dequantization of the ggml block formats,
// quantization with ggml's reference rounding, and quantized matmul kernels (scalar reference,
// AVX2, AVX-512 VNNI) that quantize activations to 8 bits and use integer dot products.
#include <cstdint>

#include "core/dtype.h"

namespace forge::cpu {

// Block layouts (little-endian, packed; ggml-common.h). `d`/`m` fields are IEEE half floats.
struct BlockQ8_0 { uint16_t d; int8_t qs[32]; };
struct BlockQ4_0 { uint16_t d; uint8_t qs[16]; };
struct BlockQ4_1 { uint16_t d; uint16_t m; uint8_t qs[16]; };
struct BlockQ5_0 { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ5_1 { uint16_t d; uint16_t m; uint8_t qh[4]; uint8_t qs[16]; };
struct BlockQ4_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct BlockQ5_K { uint16_t d; uint16_t dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct BlockQ6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22 && sizeof(BlockQ5_1) == 24 && sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// Activation blocks (internal, not a file format): 8-bit values with a float scale and the
// sums the weight offsets need. Q8A pairs with 32-element weight blocks, Q8K with K-quants.
struct BlockQ8A { float d; int32_t sum; int8_t qs[32]; };
struct BlockQ8K { float d; int16_t bsums[16]; int8_t qs[256]; };

// Dequantizes `n` elements (a multiple of the block size) of F32, F16, BF16 or any quantized
// dtype into f32. Bit-exact with ggml / the gguf Python package.
void dequantize_row(DType type, const void* src, float* dst, int64_t n);
// Quantizes `n` f32 values into F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K or Q6_K with
// ggml's reference quantizers (quantize_row_*_ref; same bytes as the gguf package where it has one).
void quantize_row(DType type, const float* src, void* dst, int64_t n);
bool can_quantize(DType type);

// ---- quantized matmul
enum class QuantIsa { kScalar, kAvx2, kAvx512Vnni };
const char* quant_isa_name(QuantIsa isa);
bool quant_isa_supported(QuantIsa isa);  // by this CPU (cpuid)
QuantIsa best_quant_isa();               // the fastest supported path
// Weight dtypes with integer-dot kernels: Q8_0, Q4_0, Q4_1, Q4_K, Q6_K.
bool quant_matmul_supported(DType wtype);

// y[M,N] = x[M,K] · W[N,K]ᵀ (+ bias[N]); W is N rows of K/block_size blocks of `wtype`.
// K must be a multiple of 32 (256 for K-quants). Parallel over N (parallel_for).
void quant_matmul(const float* x, int64_t M, int64_t K, const void* w, DType wtype, int64_t N, const float* bias,
                  float* y, QuantIsa isa);

// Internal: activation quantization and per-ISA row kernels (quant_matmul.cpp, quant_avx2.cpp,
// quant_avx512.cpp). dot(K, weight row, activation row) returns the f32 dot product.
void quantize_act_q8a(const float* x, BlockQ8A* out, int64_t K);
void quantize_act_q8k(const float* x, BlockQ8K* out, int64_t K);
using QuantDotFn = float (*)(int64_t K, const void* w, const void* a);
QuantDotFn quant_dot_scalar(DType wtype);
QuantDotFn quant_dot_avx2(DType wtype);
QuantDotFn quant_dot_avx512(DType wtype);

}  // namespace forge::cpu
