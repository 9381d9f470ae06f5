#pragma once
// Quantized weights repacked at load for the interleaved int8 matvec/matmul (decode and
// prefill): an AVX-512 VNNI kernel and an AVX2 kernel, chosen by cpuid, bit-identical results.
//
// The GGUF layout stores each weight row's blocks one after another, so a dot-product kernel
// reads one row at a time and must reduce every row's partial sums horizontally. The packed
// layout interleaves kPackRows (16) rows: for each group of 16 rows and each 32-element block it
// stores the 16 rows' fp16 scales (and mins), then the quants as 4-byte slices ("chunks"), one per
// row, so one 64-byte load holds the same 4 (Q8_0) or 8 (Q4) elements of all 16 rows. A
// `vpdpbusd` against the broadcast activation bytes then yields 16 row sums in the 16 lanes of a
// register (AVX2: `vpmaddubsw` on each 32-byte half, 8 rows per register): no shuffles, no horizontal sums, one activation block reused by 16 rows, and the
// whole matrix streams through memory as one linear stream. The byte count is unchanged (only
// the last group is padded with zero rows), so decode still reads exactly the file's bytes.
//
// Per group, per block (bytes):
//   Q4_1: d[16] f16 | m[16] f16 | 4 chunks x 16 rows x 4 bytes   (chunk c, row r = qs[4c..4c+3])
//   Q4_0: d[16] f16 |             4 chunks x 16 rows x 4 bytes
//   Q8_0: d[16] f16 | 8 chunks x 16 rows x 4 bytes, stored as unsigned (q + 128)
// A Q4 chunk's low nibbles are elements 4c..4c+3 and its high nibbles 16+4c..16+4c+3, exactly
// the nibbles of the original qs bytes, so packing is a 4-byte transpose.
#include <cstdint>
#include <memory>
#include <vector>

#include "backend/cpu/quant.h"
#include "core/dtype.h"

namespace forge::cpu {

constexpr int64_t kPackRows = 16;

struct PackedQuantMatrix {
  DType type = DType::kF32;
  int64_t rows = 0, cols = 0;  // N (output features), K (input features)
  int64_t groups = 0;          // ceil(rows / kPackRows)
  size_t group_bytes = 0;      // bytes of one group (all its blocks)
  const uint8_t* data = nullptr;
  std::shared_ptr<void> storage;  // owns `data` (2 MiB-aligned, huge-page-advised arena)
  size_t nbytes() const { return static_cast<size_t>(groups) * group_bytes; }
};

// The packed kernel this CPU runs: kAvx512Vnni, kAvx2, or kScalar when it has neither (then
// nothing is packed and the row-layout kernels run).
QuantIsa packed_quant_isa();
// True when `type` has a packed layout (Q4_0, Q4_1, Q8_0) and this CPU runs a packed kernel.
bool packed_quant_supported(DType type);
// Repacks N rows of K elements (GGUF row layout, `w`) into the interleaved layout.
// K must be a multiple of 32.
PackedQuantMatrix pack_quant_rows(const void* w, DType type, int64_t N, int64_t K);
// Writes row `row` back in the GGUF block layout (nbytes_for(type, K) bytes): the inverse of the
// packing, bit-exact (tests pin the layout with it; prefill dequantizes through it).
void unpack_quant_row(const PackedQuantMatrix& w, int64_t row, void* dst);
// Dequantizes rows [r0, r1) into f32 (row-major, K floats per row), bit-exact with
// dequantize_row on the original rows.
void dequantize_packed_rows(const PackedQuantMatrix& w, int64_t r0, int64_t r1, float* dst);

// Quantizes M activation rows of K floats to Q8A blocks (`act` gets M * K/32 blocks; it only
// grows, so a reused vector makes this allocation-free).
void quantize_act_rows(const float* x, int64_t M, int64_t K, std::vector<BlockQ8A>& act);
// y[M, N] (row stride ldy) = act[M, K] · Wᵀ with already-quantized activations (several weights
// that read the same input share one quantization). Parallel over row groups (parallel_for).
// `isa` picks the kernel (tests compare them); it must be supported by this CPU.
void packed_quant_matmul_q8(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy,
                            QuantIsa isa = packed_quant_isa());
// y[M, N] = x[M, K] · Wᵀ: quantizes x (into a per-thread buffer) and calls the above.
void packed_quant_matmul(const PackedQuantMatrix& w, const float* x, int64_t M, float* y,
                         QuantIsa isa = packed_quant_isa());
// The rows of groups [g0, g1) only, on the calling thread (the fused decode splits groups
// over its own threads): y[m][n] for m < M, n in [16 g0, 16 g1) ∩ [0, N).
void packed_matmul_groups(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy,
                          int64_t g0, int64_t g1, QuantIsa isa = packed_quant_isa());

// Internal kernels over groups [g0, g1) (quant_packed_avx512.cpp, quant_packed_avx2.cpp).
void packed_matmul_avx512(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy,
                          int64_t g0, int64_t g1);
void packed_matmul_avx2(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy,
                        int64_t g0, int64_t g1);

}  // namespace forge::cpu
