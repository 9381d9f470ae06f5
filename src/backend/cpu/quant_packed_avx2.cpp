// AVX2 kernel over the 16-row interleaved layout (quant_packed.h), for CPUs without AVX-512
// VNNI. It reads the same bytes as the VNNI kernel and does the same float operations per row
// on the same exact integer block sums, so the two kernels give bit-identical results (tested
// where both run).
//
// A 64-byte chunk of the layout holds 4 bytes of each of 16 rows; its two 32-byte halves are
// rows 0-7 and 8-15, one row per 32-bit lane of a ymm register. Per half and chunk:
//   Q4: `vpmaddubsw` of the unsigned nibbles against the broadcast activation bytes gives each
//       row two 16-bit pair sums; a block's 8 chunk products are added in 16 bits (at most
//       8 x 2 x 15 x 127 = 30480, no overflow) and widened once per block with `vpmaddwd`.
//   Q8_0: the stored bytes are q + 128; the signed q goes through the sign trick (|q| against
//       sign(a, q), at most 2 x 128 x 127 per pair) and is widened per chunk; adding
//       128 * sum(a) gives the VNNI kernel's dot(q + 128, a) exactly.
#include <immintrin.h>

#include <algorithm>
#include <cstring>

#include "backend/cpu/quant_packed.h"

#define FORGE_PTARGET __attribute__((target("avx2,fma,f16c")))

namespace forge::cpu {

namespace {

// Software prefetch distance in bytes (the layout streams linearly through the arena).
constexpr size_t kPrefetchBytes = 6144;
constexpr int kHalfRows = 8;

FORGE_PTARGET inline __m256i bcast4(const int8_t* p) {
  int v;
  std::memcpy(&v, p, 4);
  return _mm256_set1_epi32(v);
}

FORGE_PTARGET inline int32_t block_sum(const int8_t* qs) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs));
  const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), a), _mm256_set1_epi16(1));
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
  return _mm_cvtsi128_si32(x);
}

// Rows [8 * h0, 8 * (h0 + NH)) of one group against MR activation rows. `valid` is the number of
// real rows in the group (the last group is padded with zero rows).
template <DType kType, int MR, int NH>
FORGE_PTARGET inline void group_kernel(const uint8_t* g, int64_t nb, int h0, const BlockQ8A* const* act,
                                       float* const* out, int64_t valid) {
  constexpr bool kQ8 = kType == DType::kQ8_0;
  constexpr bool kMin = kType == DType::kQ4_1;
  constexpr size_t kWords = 2 * kPackRows;  // bytes of 16 f16 words
  constexpr int kChunks = kQ8 ? 8 : 4;
  constexpr size_t kBlock = kWords * (kMin ? 2 : 1) + static_cast<size_t>(kChunks) * 64;
  __m256 acc[MR][NH], accm[MR][NH];
  for (int r = 0; r < MR; ++r) {
    for (int h = 0; h < NH; ++h) {
      acc[r][h] = _mm256_setzero_ps();
      accm[r][h] = _mm256_setzero_ps();
    }
  }
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i ones16 = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* p = g + static_cast<size_t>(b) * kBlock;
    {
      const char* pf = reinterpret_cast<const char*>(p) + kPrefetchBytes;
      for (size_t o = 0; o < kBlock; o += 64) _mm_prefetch(pf + o, _MM_HINT_T0);
    }
    const uint8_t* qs = p + kWords * (kMin ? 2 : 1);
    __m256i dot[MR][NH];
    if constexpr (kQ8) {
      for (int r = 0; r < MR; ++r) {
        for (int h = 0; h < NH; ++h) dot[r][h] = _mm256_setzero_si256();
      }
      const __m256i bias = _mm256_set1_epi8(static_cast<char>(0x80));
      for (int c = 0; c < kChunks; ++c) {
        for (int h = 0; h < NH; ++h) {
          const __m256i q = _mm256_xor_si256(
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * c + 32 * (h0 + h))), bias);
          const __m256i aq = _mm256_abs_epi8(q);
          for (int r = 0; r < MR; ++r) {
            const __m256i s = _mm256_sign_epi8(bcast4(act[r][b].qs + 4 * c), q);
            dot[r][h] = _mm256_add_epi32(dot[r][h], _mm256_madd_epi16(_mm256_maddubs_epi16(aq, s), ones16));
          }
        }
      }
      for (int r = 0; r < MR; ++r) {
        const __m256i shift = _mm256_set1_epi32(128 * block_sum(act[r][b].qs));
        for (int h = 0; h < NH; ++h) dot[r][h] = _mm256_add_epi32(dot[r][h], shift);
      }
    } else {
      __m256i s16[MR][NH];
      for (int r = 0; r < MR; ++r) {
        for (int h = 0; h < NH; ++h) s16[r][h] = _mm256_setzero_si256();
      }
      for (int c = 0; c < kChunks; ++c) {
        for (int h = 0; h < NH; ++h) {
          const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 64 * c + 32 * (h0 + h)));
          const __m256i lo = _mm256_and_si256(raw, m4);                           // elements 4c..4c+3
          const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);  // elements 16+4c..16+4c+3
          for (int r = 0; r < MR; ++r) {
            const __m256i plo = _mm256_maddubs_epi16(lo, bcast4(act[r][b].qs + 4 * c));
            const __m256i phi = _mm256_maddubs_epi16(hi, bcast4(act[r][b].qs + 16 + 4 * c));
            s16[r][h] = _mm256_add_epi16(s16[r][h], _mm256_add_epi16(plo, phi));
          }
        }
      }
      for (int r = 0; r < MR; ++r) {
        for (int h = 0; h < NH; ++h) dot[r][h] = _mm256_madd_epi16(s16[r][h], ones16);
      }
    }
    for (int h = 0; h < NH; ++h) {
      const int hh = h0 + h;
      const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * hh)));
      __m256 offs;  // per-row weight of s: m (Q4_1), -8d (Q4_0), -128d (Q8_0)
      if constexpr (kMin) {
        offs = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + kWords + 16 * hh)));
      } else {
        offs = _mm256_mul_ps(d, _mm256_set1_ps(kQ8 ? -128.0f : -8.0f));
      }
      for (int r = 0; r < MR; ++r) {
        const BlockQ8A& a = act[r][b];
        acc[r][h] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot[r][h]), _mm256_mul_ps(d, _mm256_set1_ps(a.d)), acc[r][h]);
        accm[r][h] = _mm256_fmadd_ps(offs, _mm256_set1_ps(a.s), accm[r][h]);
      }
    }
  }
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  for (int h = 0; h < NH; ++h) {
    const int64_t rows = std::clamp<int64_t>(valid - kHalfRows * (h0 + h), 0, kHalfRows);
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(rows)), lane);
    for (int r = 0; r < MR; ++r) {
      _mm256_maskstore_ps(out[r] + kHalfRows * (h0 + h), mask, _mm256_add_ps(acc[r][h], accm[r][h]));
    }
  }
}

template <DType kType>
FORGE_PTARGET void run_groups(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy,
                              int64_t g0, int64_t g1) {
  const int64_t nb = w.cols / 32;
  // Several activation rows: one half-group at a time (the second half re-reads the group from
  // cache) so that the 16-bit sums and accumulators of MR rows fit the 16 ymm registers.
  constexpr int kMR = 2;
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* gp = w.data + static_cast<size_t>(g) * w.group_bytes;
    const int64_t n0 = g * kPackRows;
    const int64_t valid = std::min<int64_t>(kPackRows, w.rows - n0);
    const BlockQ8A* rows[kMR];
    float* outs[kMR];
    int64_t m = 0;
    for (; m + kMR <= M; m += kMR) {
      for (int r = 0; r < kMR; ++r) {
        rows[r] = act + (m + r) * nb;
        outs[r] = y + (m + r) * ldy + n0;
      }
      group_kernel<kType, kMR, 1>(gp, nb, 0, rows, outs, valid);
      if (valid > kHalfRows) group_kernel<kType, kMR, 1>(gp, nb, 1, rows, outs, valid);
    }
    // One row (decode): both halves in one pass, so the group streams through once.
    for (; m < M; ++m) {
      rows[0] = act + m * nb;
      outs[0] = y + m * ldy + n0;
      group_kernel<kType, 1, 2>(gp, nb, 0, rows, outs, valid);
    }
  }
}

}  // namespace

void packed_matmul_avx2(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy, int64_t g0,
                        int64_t g1) {
  switch (w.type) {
    case DType::kQ4_0: run_groups<DType::kQ4_0>(w, act, M, y, ldy, g0, g1); break;
    case DType::kQ4_1: run_groups<DType::kQ4_1>(w, act, M, y, ldy, g0, g1); break;
    case DType::kQ8_0: run_groups<DType::kQ8_0>(w, act, M, y, ldy, g0, g1); break;
    default: break;
  }
}

}  // namespace forge::cpu
