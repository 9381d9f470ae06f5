// AVX-512 VNNI kernel over the 16-row interleaved layout (quant_packed.h). Reached only through
// run-time dispatch (packed_quant_supported checks cpuid); GCC 12 must not build the library
// with -mavx512f (see CMakeLists.txt), so the functions carry their own target attribute.
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/quant_packed.h"

#define FORGE_PTARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))

// GCC 12 reports false -W(maybe-)uninitialized inside avx512fintrin.h when these intrinsics are
// inlined into target-attribute functions (see quant_avx512.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace forge::cpu {

namespace {
// Software prefetch distance in bytes (~6 KiB: measured best among 0.. 24 KiB on the DRAM-streaming
// matvec; the groups of a matrix, and the matrices of a model, are contiguous in the arena).
constexpr size_t kPrefetchBytes = 6144;

FORGE_PTARGET inline __m512i bcast4(const int8_t* p) {
  int v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// One group of 16 weight rows against MR activation rows. Per block and row:
//   Q4_1: d*ad*dot(q, a) + m*s           (s = ad * sum(a))
//   Q4_0: d*ad*dot(q, a) - 8*d*s
//   Q8_0: d*ad*dot(q + 128, a) - 128*d*s
// The integer dot of a block is exact; each row's float operations are the same whatever MR is,
// so a row's result does not depend on how many rows are multiplied together.
template <DType kType, int MR>
FORGE_PTARGET inline void group_kernel(const uint8_t* g, int64_t nb, const BlockQ8A* const* act, float* const* out,
                                       __mmask16 mask) {
  constexpr bool kQ8 = kType == DType::kQ8_0;
  constexpr bool kMin = kType == DType::kQ4_1;
  constexpr size_t kWords = 2 * kPackRows;  // bytes of 16 f16 words
  constexpr int kChunks = kQ8 ? 8 : 4;
  constexpr size_t kBlock = kWords * (kMin ? 2 : 1) + static_cast<size_t>(kChunks) * 64;
  __m512 acc[MR], accm[MR];
  for (int r = 0; r < MR; ++r) {
    acc[r] = _mm512_setzero_ps();
    accm[r] = _mm512_setzero_ps();
  }
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* p = g + static_cast<size_t>(b) * kBlock;
    {
      const char* pf = reinterpret_cast<const char*>(p) + kPrefetchBytes;
      for (size_t o = 0; o < kBlock; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    __m512 offs;  // per-row weight of s: m (Q4_1), -8d (Q4_0), -128d (Q8_0)
    if constexpr (kMin) {
      offs = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + kWords)));
    } else {
      offs = _mm512_mul_ps(d, _mm512_set1_ps(kQ8 ? -128.0f : -8.0f));
    }
    const uint8_t* qs = p + kWords * (kMin ? 2 : 1);
    __m512i w[8];
    if constexpr (kQ8) {
      for (int c = 0; c < 8; ++c) w[c] = _mm512_loadu_si512(qs + 64 * c);
    } else {
      for (int c = 0; c < 4; ++c) {
        const __m512i raw = _mm512_loadu_si512(qs + 64 * c);
        w[c] = _mm512_and_si512(raw, m4);                           // elements 4c..4c+3
        w[c + 4] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);  // elements 16+4c..16+4c+3
      }
    }
    for (int r = 0; r < MR; ++r) {
      const BlockQ8A& a = act[r][b];
      __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
      if constexpr (kQ8) {
        for (int c = 0; c < 8; c += 2) {
          s0 = _mm512_dpbusd_epi32(s0, w[c], bcast4(a.qs + 4 * c));
          s1 = _mm512_dpbusd_epi32(s1, w[c + 1], bcast4(a.qs + 4 * c + 4));
        }
      } else {
        for (int c = 0; c < 4; ++c) {
          s0 = _mm512_dpbusd_epi32(s0, w[c], bcast4(a.qs + 4 * c));
          s1 = _mm512_dpbusd_epi32(s1, w[c + 4], bcast4(a.qs + 16 + 4 * c));
        }
      }
      const __m512 dot = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
      acc[r] = _mm512_fmadd_ps(dot, _mm512_mul_ps(d, _mm512_set1_ps(a.d)), acc[r]);
      accm[r] = _mm512_fmadd_ps(offs, _mm512_set1_ps(a.s), accm[r]);
    }
  }
  for (int r = 0; r < MR; ++r) _mm512_mask_storeu_ps(out[r], mask, _mm512_add_ps(acc[r], accm[r]));
}

template <DType kType>
FORGE_PTARGET void run_groups(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy,
                              int64_t g0, int64_t g1) {
  const int64_t nb = w.cols / 32;
  constexpr int kMR = 4;
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* gp = w.data + static_cast<size_t>(g) * w.group_bytes;
    const int64_t n0 = g * kPackRows;
    const int64_t valid = std::min<int64_t>(kPackRows, w.rows - n0);
    const auto mask = static_cast<__mmask16>((1u << valid) - 1u);
    int64_t m = 0;
    const BlockQ8A* rows[kMR];
    float* outs[kMR];
    for (; m + kMR <= M; m += kMR) {
      for (int r = 0; r < kMR; ++r) {
        rows[r] = act + (m + r) * nb;
        outs[r] = y + (m + r) * ldy + n0;
      }
      group_kernel<kType, kMR>(gp, nb, rows, outs, mask);
    }
    for (; m < M; ++m) {
      rows[0] = act + m * nb;
      outs[0] = y + m * ldy + n0;
      group_kernel<kType, 1>(gp, nb, rows, outs, mask);
    }
  }
}

}  // namespace

void packed_matmul_avx512(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy,
                          int64_t g0, int64_t g1) {
  switch (w.type) {
    case DType::kQ4_0: run_groups<DType::kQ4_0>(w, act, M, y, ldy, g0, g1); break;
    case DType::kQ4_1: run_groups<DType::kQ4_1>(w, act, M, y, ldy, g0, g1); break;
    case DType::kQ8_0: run_groups<DType::kQ8_0>(w, act, M, y, ldy, g0, g1); break;
    default: break;
  }
}

}  // namespace forge::cpu

#pragma GCC diagnostic pop
