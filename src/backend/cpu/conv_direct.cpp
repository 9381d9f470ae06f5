#include "backend/cpu/conv_direct.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "core/parallel.h"

namespace forge::cpu {

namespace {

const bool kHasAvx512 = __builtin_cpu_supports("avx512f");
const bool kHasAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
thread_local bool portable_only = false;  // use_portable_conv_kernels

// GCC 12 reports _mm512_setzero_ps's own undefined register as maybe-uninitialized.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Register tile: P rows (pixels) x CV vectors of 16 output channels, kept in P * CV <= 24
// accumulators. Per reduction step: CV weight loads, P broadcasts, P * CV FMAs.
template <int CV, int P>
__attribute__((target("avx512f"))) void tile_avx512(const float* const* rows, int64_t np, const int64_t* seg_off,
                                                    int64_t nseg, int64_t seglen, const float* b, int64_t ldb,
                                                    int64_t n, const float* bias, bool relu, float* c, int64_t ldc) {
  __m512 acc[P][CV];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 16
    for (int v = 0; v < CV; ++v) acc[p][v] = _mm512_setzero_ps();
  const float* r[P];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) r[p] = rows[p < np ? p : np - 1];
  const float* bk = b;
  for (int64_t s = 0; s < nseg; ++s) {
    const int64_t off = seg_off[s];
    for (int64_t k = 0; k < seglen; ++k, bk += ldb) {
      __m512 w[CV];
#pragma GCC unroll 16
      for (int v = 0; v < CV; ++v) w[v] = _mm512_loadu_ps(bk + 16 * v);
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) {
        const __m512 x = _mm512_set1_ps(r[p][off + k]);
#pragma GCC unroll 16
        for (int v = 0; v < CV; ++v) acc[p][v] = _mm512_fmadd_ps(x, w[v], acc[p][v]);
      }
    }
  }
  __mmask16 mask[CV];
  __m512 bv[CV];
#pragma GCC unroll 16
  for (int v = 0; v < CV; ++v) {
    const int64_t valid = std::min<int64_t>(16, n - 16 * v);
    mask[v] = valid >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << valid) - 1u);
    bv[v] = bias != nullptr ? _mm512_maskz_loadu_ps(mask[v], bias + 16 * v) : _mm512_setzero_ps();
  }
  const __m512 zero = _mm512_setzero_ps();
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
    if (p >= np) break;
#pragma GCC unroll 16
    for (int v = 0; v < CV; ++v) {
      __m512 y = _mm512_add_ps(acc[p][v], bv[v]);
      if (relu) y = _mm512_max_ps(y, zero);  // max(NaN, 0) is 0: the second operand wins
      _mm512_mask_storeu_ps(c + p * ldc + 16 * v, mask[v], y);
    }
  }
}

// The last rows < P run a tile of exactly that many rows (no wasted accumulators).
template <int CV, int P>
__attribute__((target("avx512f"))) void tail_avx512(int64_t r, const float* const* rows, const int64_t* seg_off,
                                                    int64_t nseg, int64_t seglen, const float* b, int64_t ldb,
                                                    int64_t n, const float* bias, bool relu, float* c, int64_t ldc) {
  if constexpr (P > 1) {
    if (r == P - 1) {
      tile_avx512<CV, P - 1>(rows, r, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc);
    } else {
      tail_avx512<CV, P - 1>(r, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc);
    }
  }
}

template <int CV, int P>
__attribute__((target("avx512f"))) void gemm_avx512(int64_t m, const float* const* rows, const int64_t* seg_off,
                                                    int64_t nseg, int64_t seglen, const float* b, int64_t ldb,
                                                    int64_t n, const float* bias, bool relu, float* c, int64_t ldc) {
  int64_t p0 = 0;
  for (; p0 + P <= m; p0 += P)
    tile_avx512<CV, P>(rows + p0, P, seg_off, nseg, seglen, b, ldb, n, bias, relu, c + p0 * ldc, ldc);
  if (p0 < m) tail_avx512<CV, P>(m - p0, rows + p0, seg_off, nseg, seglen, b, ldb, n, bias, relu, c + p0 * ldc, ldc);
}

void row_gemm_avx512(int64_t m, const float* const* rows, const int64_t* seg_off, int64_t nseg, int64_t seglen,
                     const float* b, int64_t ldb, int64_t n, const float* bias, bool relu, float* c, int64_t ldc) {
  // Up to 64 output channels per pass; the pixel count per tile keeps 24 accumulators busy.
  for (int64_t j0 = 0; j0 < n; j0 += 64) {
    const int64_t nj = std::min<int64_t>(64, n - j0);
    const float* bj = b + j0;
    const float* biasj = bias != nullptr ? bias + j0 : nullptr;
    float* cj = c + j0;
    switch ((nj + 15) / 16) {
      case 1: gemm_avx512<1, 12>(m, rows, seg_off, nseg, seglen, bj, ldb, nj, biasj, relu, cj, ldc); break;
      case 2: gemm_avx512<2, 12>(m, rows, seg_off, nseg, seglen, bj, ldb, nj, biasj, relu, cj, ldc); break;
      case 3: gemm_avx512<3, 8>(m, rows, seg_off, nseg, seglen, bj, ldb, nj, biasj, relu, cj, ldc); break;
      default: gemm_avx512<4, 6>(m, rows, seg_off, nseg, seglen, bj, ldb, nj, biasj, relu, cj, ldc); break;
    }
  }
}

// AVX2 + FMA (16 registers): P pixels x CV vectors of 8 output channels in P * CV <= 12
// accumulators, the CV weight vectors and one broadcast.
template <int CV, int P>
__attribute__((target("avx2,fma"))) void tile_avx2(const float* const* rows, int64_t np, const int64_t* seg_off,
                                                   int64_t nseg, int64_t seglen, const float* b, int64_t ldb, int64_t n,
                                                   const float* bias, bool relu, float* c, int64_t ldc) {
  __m256 acc[P][CV];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 16
    for (int v = 0; v < CV; ++v) acc[p][v] = _mm256_setzero_ps();
  const float* r[P];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) r[p] = rows[p < np ? p : np - 1];
  const float* bk = b;
  for (int64_t s = 0; s < nseg; ++s) {
    const int64_t off = seg_off[s];
    for (int64_t k = 0; k < seglen; ++k, bk += ldb) {
      __m256 w[CV];
#pragma GCC unroll 16
      for (int v = 0; v < CV; ++v) w[v] = _mm256_loadu_ps(bk + 8 * v);
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) {
        const __m256 x = _mm256_broadcast_ss(r[p] + off + k);
#pragma GCC unroll 16
        for (int v = 0; v < CV; ++v) acc[p][v] = _mm256_fmadd_ps(x, w[v], acc[p][v]);
      }
    }
  }
  __m256i mask[CV];
  __m256 bv[CV];
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
#pragma GCC unroll 16
  for (int v = 0; v < CV; ++v) {
    const int valid = static_cast<int>(std::min<int64_t>(8, n - 8 * v));
    mask[v] = _mm256_cmpgt_epi32(_mm256_set1_epi32(valid), lane);
    bv[v] = bias != nullptr ? _mm256_maskload_ps(bias + 8 * v, mask[v]) : _mm256_setzero_ps();
  }
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p) {
    if (p >= np) break;
#pragma GCC unroll 16
    for (int v = 0; v < CV; ++v) {
      __m256 y = _mm256_add_ps(acc[p][v], bv[v]);
      if (relu) y = _mm256_max_ps(y, zero);  // max(NaN, 0) is 0: the second operand wins
      // Masked stores are microcoded on AMD cores (~10x a plain store): only for the tail.
      if (8 * v + 8 <= n) {
        _mm256_storeu_ps(c + p * ldc + 8 * v, y);
      } else {
        _mm256_maskstore_ps(c + p * ldc + 8 * v, mask[v], y);
      }
    }
  }
}

// The last rows < P run a tile of exactly that many rows (no wasted accumulators).
template <int CV, int P>
__attribute__((target("avx2,fma"))) void tail_avx2(int64_t r, const float* const* rows, const int64_t* seg_off,
                                                   int64_t nseg, int64_t seglen, const float* b, int64_t ldb, int64_t n,
                                                   const float* bias, bool relu, float* c, int64_t ldc) {
  if constexpr (P > 1) {
    if (r == P - 1) {
      tile_avx2<CV, P - 1>(rows, r, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc);
    } else {
      tail_avx2<CV, P - 1>(r, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc);
    }
  }
}

template <int CV, int P>
__attribute__((target("avx2,fma"))) void gemm_avx2(int64_t m, const float* const* rows, const int64_t* seg_off,
                                                   int64_t nseg, int64_t seglen, const float* b, int64_t ldb, int64_t n,
                                                   const float* bias, bool relu, float* c, int64_t ldc) {
  int64_t p0 = 0;
  for (; p0 + P <= m; p0 += P)
    tile_avx2<CV, P>(rows + p0, P, seg_off, nseg, seglen, b, ldb, n, bias, relu, c + p0 * ldc, ldc);
  if (p0 < m) tail_avx2<CV, P>(m - p0, rows + p0, seg_off, nseg, seglen, b, ldb, n, bias, relu, c + p0 * ldc, ldc);
}

// Output channels in chunks of 8 * CV; a last, narrower chunk uses fewer vectors.
template <int CV, int P>
__attribute__((target("avx2,fma"))) void chunks_avx2(int64_t m, const float* const* rows, const int64_t* seg_off,
                                                     int64_t nseg, int64_t seglen, const float* b, int64_t ldb,
                                                     int64_t n, const float* bias, bool relu, float* c, int64_t ldc) {
  for (int64_t j0 = 0; j0 < n; j0 += 8 * CV) {
    const int64_t nj = std::min<int64_t>(8 * CV, n - j0);
    const float* biasj = bias != nullptr ? bias + j0 : nullptr;
    if (nj > 8 * (CV - 1)) {
      gemm_avx2<CV, P>(m, rows, seg_off, nseg, seglen, b + j0, ldb, nj, biasj, relu, c + j0, ldc);
    } else if constexpr (CV > 1) {
      chunks_avx2<CV - 1, P>(m, rows, seg_off, nseg, seglen, b + j0, ldb, nj, biasj, relu, c + j0, ldc);
    }
  }
}

void row_gemm_avx2(int64_t m, const float* const* rows, const int64_t* seg_off, int64_t nseg, int64_t seglen,
                   const float* b, int64_t ldb, int64_t n, const float* bias, bool relu, float* c, int64_t ldc) {
  // Few rows (the Winograd GEMMs of a small image have one per tile): wider channel chunks
  // keep 8+ independent FMA chains in flight (4-cycle latency, 2 per cycle) within the 16
  // registers (accumulators + weight vectors + one broadcast).
  switch (m) {
    case 1: chunks_avx2<8, 1>(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc); break;
    case 2: chunks_avx2<4, 2>(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc); break;
    case 3: chunks_avx2<3, 3>(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc); break;
    case 4: chunks_avx2<3, 4>(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc); break;
    case 7:
    case 8:  // two blocks of 4 (or 4 + 3): no short block that would leave FMA chains idle
      chunks_avx2<2, 4>(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc);
      break;
    case 9:
    case 10: chunks_avx2<2, 5>(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc); break;
    default: chunks_avx2<2, 6>(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc); break;
  }
}

#pragma GCC diagnostic pop

// Dot products of P gathered rows with NC weight rows (all of length k): res[p * NC + c].
template <int P, int NC>
__attribute__((target("avx2,fma"))) void dot_tile_avx2(const float* x, int64_t k, const float* w, float* res) {
  __m256 acc[P][NC];
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) acc[p][c] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= k; i += 8) {
    __m256 wv[NC];
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) wv[c] = _mm256_loadu_ps(w + c * k + i);
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p) {
      const __m256 xv = _mm256_loadu_ps(x + p * k + i);
#pragma GCC unroll 16
      for (int c = 0; c < NC; ++c) acc[p][c] = _mm256_fmadd_ps(xv, wv[c], acc[p][c]);
    }
  }
#pragma GCC unroll 16
  for (int p = 0; p < P; ++p)
#pragma GCC unroll 16
    for (int c = 0; c < NC; ++c) {
      const __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc[p][c]), _mm256_extractf128_ps(acc[p][c], 1));
      const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));
      float s = _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
      for (int64_t j = i; j < k; ++j) s += x[p * k + j] * w[c * k + j];
      res[p * NC + c] = s;
    }
}

// Picks the tile for the last, shorter pixel block at run time.
template <int P, int NC>
__attribute__((target("avx2,fma"))) void dot_block_avx2(int64_t np, const float* x, int64_t k, const float* w,
                                                        float* res) {
  if (np == P) {
    dot_tile_avx2<P, NC>(x, k, w, res);
  } else if constexpr (P > 1) {
    dot_block_avx2<P - 1, NC>(np, x, k, w, res);
  }
}

void dot_rows(int64_t m, int64_t k, const float* x, const float* w, int64_t c0, int64_t c1, const float* bias,
              bool relu, float* out, int64_t ldo) {
  constexpr int64_t kP = 6;  // 6 pixels x 2 channels: 12 accumulators, 2 weight vectors, 1 input
  float res[kP * 2];
  for (int64_t c = c0; c < c1; c += 2) {  // two weight rows stay in L1 across the pixel blocks
    const int64_t nc = std::min<int64_t>(2, c1 - c);
    for (int64_t p0 = 0; p0 < m; p0 += kP) {
      const int64_t np = std::min(kP, m - p0);
      const float* xp = x + p0 * k;
      if (kHasAvx2 && !portable_only) {
        if (nc == 2) {
          dot_block_avx2<kP, 2>(np, xp, k, w + c * k, res);
        } else {
          dot_block_avx2<kP, 1>(np, xp, k, w + c * k, res);
        }
      } else {
        for (int64_t p = 0; p < np; ++p)
          for (int64_t j = 0; j < nc; ++j) {
            float s = 0.0f;
            for (int64_t i = 0; i < k; ++i) s += xp[p * k + i] * w[(c + j) * k + i];
            res[p * nc + j] = s;
          }
      }
      for (int64_t p = 0; p < np; ++p)
        for (int64_t j = 0; j < nc; ++j) {
          const float y = res[p * nc + j] + (bias != nullptr ? bias[c + j] : 0.0f);
          out[(p0 + p) * ldo + c + j] = relu ? (y > 0.0f ? y : 0.0f) : y;
        }
    }
  }
}

// Portable version (AVX2 by auto-vectorization over the output channels).
void row_gemm_generic(int64_t m, const float* const* rows, const int64_t* seg_off, int64_t nseg, int64_t seglen,
                      const float* b, int64_t ldb, int64_t n, const float* bias, bool relu, float* c, int64_t ldc) {
  thread_local std::vector<float> acc;
  acc.resize(static_cast<size_t>(n));
  for (int64_t p = 0; p < m; ++p) {
    std::fill(acc.begin(), acc.end(), 0.0f);
    float* a = acc.data();
    const float* bk = b;
    for (int64_t s = 0; s < nseg; ++s) {
      const float* x = rows[p] + seg_off[s];
      for (int64_t k = 0; k < seglen; ++k, bk += ldb) {
        const float xk = x[k];
        for (int64_t j = 0; j < n; ++j) a[j] += xk * bk[j];
      }
    }
    float* cp = c + p * ldc;
    for (int64_t j = 0; j < n; ++j) {
      const float y = a[j] + (bias != nullptr ? bias[j] : 0.0f);
      cp[j] = relu ? (y > 0.0f ? y : 0.0f) : y;
    }
  }
}

}  // namespace

void use_portable_conv_kernels(bool on) { portable_only = on; }

void pack_conv_weight(const float* weight, int64_t out_c, int64_t in_c, int64_t kh, int64_t kw, float* packed) {
  const int64_t ld = conv_packed_ld(out_c);
  std::fill(packed, packed + kh * kw * in_c * ld, 0.0f);
  for (int64_t o = 0; o < out_c; ++o)
    for (int64_t ci = 0; ci < in_c; ++ci)
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j)
          packed[((i * kw + j) * in_c + ci) * ld + o] = weight[((o * in_c + ci) * kh + i) * kw + j];
}

void row_gemm(int64_t m, const float* const* rows, const int64_t* seg_off, int64_t nseg, int64_t seglen, const float* b,
              int64_t ldb, int64_t n, const float* bias, bool relu, float* c, int64_t ldc) {
  if (m <= 0 || n <= 0) return;
  if (portable_only) {
    row_gemm_generic(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc);
  } else if (kHasAvx512) {
    row_gemm_avx512(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc);
  } else if (kHasAvx2) {
    row_gemm_avx2(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc);
  } else {
    row_gemm_generic(m, rows, seg_off, nseg, seglen, b, ldb, n, bias, relu, c, ldc);
  }
}

void conv2d_nhwc_direct(const ConvNhwcGeometry& g, const float* in, const float* packed, const float* bias, bool relu,
                        float* out) {
  const int64_t oh = g.out_h(), ow = g.out_w(), m = oh * ow;
  if (m <= 0) return;
  thread_local std::vector<const float*> rows;
  thread_local std::vector<int64_t> seg_off;
  rows.resize(static_cast<size_t>(m));
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) rows[static_cast<size_t>(y * ow + x)] = in + (y * g.in_w + x) * g.in_c;
  seg_off.clear();
  for (int64_t i = 0; i < g.kernel_h; ++i)
    for (int64_t j = 0; j < g.kernel_w; ++j) seg_off.push_back((i * g.in_w + j) * g.in_c);
  const int64_t ld = conv_packed_ld(g.out_c);
  const float* const* row_ptr = rows.data();
  const int64_t* offs = seg_off.data();
  const int64_t nseg = static_cast<int64_t>(seg_off.size());
  // Split pixels over threads only when each gets ~50k multiply-adds (~2 us): a parallel
  // region costs about a microsecond.
  const int64_t macs_per_pixel = nseg * g.in_c * g.out_c;
  const int64_t grain = std::max<int64_t>(6, 50000 / std::max<int64_t>(1, macs_per_pixel));
  parallel_for(0, m, grain, [&](int64_t lo, int64_t hi) {
    row_gemm(hi - lo, row_ptr + lo, offs, nseg, g.in_c, packed, ld, g.out_c, bias, relu, out + lo * g.out_c, g.out_c);
  });
}

void conv2d_nhwc_dot(const ConvNhwcGeometry& g, const float* in, const float* weight, const float* bias, bool relu,
                     float* out) {
  const int64_t oh = g.out_h(), ow = g.out_w(), m = oh * ow, k = g.in_c * g.kernel_h * g.kernel_w;
  if (m <= 0) return;
  thread_local std::vector<float> rows;
  rows.resize(static_cast<size_t>(m * k));
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) {
      float* r = rows.data() + (y * ow + x) * k;
      for (int64_t i = 0; i < g.kernel_h; ++i)
        for (int64_t j = 0; j < g.kernel_w; ++j) {
          const float* src = in + ((y + i) * g.in_w + x + j) * g.in_c;
          for (int64_t ci = 0; ci < g.in_c; ++ci) r[(ci * g.kernel_h + i) * g.kernel_w + j] = src[ci];
        }
    }
  const float* xr = rows.data();
  // Output channel pairs split over threads when each gets ~50k multiply-adds.
  const int64_t pairs = (g.out_c + 1) / 2;
  const int64_t grain = std::max<int64_t>(1, 50000 / std::max<int64_t>(1, 2 * m * k));
  parallel_for(0, pairs, grain, [&](int64_t lo, int64_t hi) {
    dot_rows(m, k, xr, weight, 2 * lo, std::min(2 * hi, g.out_c), bias, relu, out, g.out_c);
  });
}

}  // namespace forge::cpu
