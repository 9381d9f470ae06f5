#pragma once
// GEMM with bf16 operands and f32 accumulation/output through oneDNN's matmul primitive
// (AVX512-BF16 kernels where the CPU has them): C = op(A) op(B) + beta * C, row-major, with A
// and B given in f32 and rounded to bf16 (round-to-nearest-even) on the way in.
#include <cstdint>

namespace forge::cpu {

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float beta, float* c, int64_t ldc);

// The dispatch hook the matmul ops call: gemm_bf16 when `bf16` (and alpha == 1, beta in {0, 1}),
// otherwise sgemm.
void gemm(bool bf16, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace forge::cpu
