#include "backend/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include "backend/cpu/expf_exact.h"
#include "backend/cpu/vec_math.h"
#include "core/parallel.h"

namespace forge::cpu {

void attention_softmax(const float* in, float* out, int64_t rows, int64_t cols, int64_t q_len, bool causal,
                       int64_t offset) {
  const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1));
  const uint64_t* tab = expf_detail::table().t;
  parallel_for(0, rows, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* x = in + r * cols;
      float* y = out + r * cols;
      const int64_t visible = causal ? std::clamp<int64_t>(r % q_len + offset + 1, 0, cols) : cols;
      float m = -std::numeric_limits<float>::infinity();
#pragma omp simd reduction(max : m)
      for (int64_t j = 0; j < visible; ++j) m = x[j] > m ? x[j] : m;
      // e^(x - m) with expf_exact (bit-identical to std::exp, vectorizable; libm's expf was a
      // call per score) unless a difference is outside its range (then libm for the row).
      int64_t outside = 0;
#pragma omp simd reduction(+ : outside)
      for (int64_t j = 0; j < visible; ++j) outside += expf_exact_in_range(x[j] - m) ? 0 : 1;
      if (outside == 0) {
#pragma omp simd
        for (int64_t j = 0; j < visible; ++j) y[j] = expf_exact(x[j] - m, tab);
      } else {
        for (int64_t j = 0; j < visible; ++j) y[j] = std::exp(x[j] - m);
      }
      float total = 0.0f;  // sequential: the same rounding as before
      for (int64_t j = 0; j < visible; ++j) total += y[j];
      const float inv = 1.0f / total;
      for (int64_t j = 0; j < visible; ++j) y[j] *= inv;
      std::fill(y + visible, y + cols, 0.0f);
    }
  });
}

namespace {

constexpr int64_t kStep = 8;  // cached positions per step

// Prefetches the cached rows [s0, s1) (`bytes` of each; read from L2/L3 or DRAM).
inline void prefetch_rows(const float* base, int64_t stride, int64_t s0, int64_t s1, int64_t bytes) {
  for (int64_t s = s0; s < s1; ++s) {
    const char* row = reinterpret_cast<const char*>(base + s * stride);
    for (int64_t b = 0; b < bytes; b += 64) __builtin_prefetch(row + b);
  }
}

#if defined(__AVX2__) && defined(__FMA__)
// [sum(a0), ..., sum(a7)]: lane j reduced as ((0+1)+(2+3)) + ((4+5)+(6+7)) for every j.
inline __m256 reduce8(const __m256* a) {
  const __m256 t0 = _mm256_hadd_ps(a[0], a[1]), t1 = _mm256_hadd_ps(a[2], a[3]);
  const __m256 t2 = _mm256_hadd_ps(a[4], a[5]), t3 = _mm256_hadd_ps(a[6], a[7]);
  const __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
  return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

// exp_approx (vec_math.h) on 8 lanes: the same steps (NaN stays NaN, below -87.3 gives 0).
inline __m256 exp8(__m256 x) {
  const __m256 kRound = _mm256_set1_ps(12582912.0f);  // 1.5 * 2^23
  const __m256 underflow = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  const __m256 v = _mm256_max_ps(_mm256_set1_ps(-87.3f), _mm256_min_ps(_mm256_set1_ps(88.7f), x));
  const __m256 shifted = _mm256_fmadd_ps(v, _mm256_set1_ps(1.44269504088896341f), kRound);
  const __m256 n = _mm256_sub_ps(shifted, kRound);
  const __m256i ni = _mm256_sub_epi32(_mm256_castps_si256(shifted), _mm256_castps_si256(kRound));
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), v);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256 pow2n = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23));
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, pow2n));
}

// scale * (q . k_j) for the n <= 8 rows at k (row stride `stride`) into out[0..n).
inline void dot_rows8(const float* q, const float* k, int64_t stride, int64_t n, int64_t hd, __m256 scale, float* out) {
  __m256 acc[kStep];
  for (auto& a : acc) a = _mm256_setzero_ps();
  if (n == kStep) {
    for (int64_t e = 0; e < hd; e += 8) {
      const __m256 qv = _mm256_loadu_ps(q + e);
      for (int j = 0; j < kStep; ++j) acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + j * stride + e), acc[j]);
    }
    _mm256_storeu_ps(out, _mm256_mul_ps(reduce8(acc), scale));
    return;
  }
  // the last positions: the same per-lane steps, the unused lanes stay zero
  for (int64_t e = 0; e < hd; e += 8) {
    const __m256 qv = _mm256_loadu_ps(q + e);
    for (int64_t j = 0; j < n; ++j) acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + j * stride + e), acc[j]);
  }
  alignas(32) float tmp[kStep];
  _mm256_store_ps(tmp, _mm256_mul_ps(reduce8(acc), scale));
  std::copy(tmp, tmp + n, out);
}

// out[0..hd) += sum_j p[j] * v_j over the n rows at v, one FMA per row in order.
inline void axpy_rows(const float* p, const float* v, int64_t stride, int64_t n, int64_t hd, float* out) {
  for (int64_t e0 = 0; e0 < hd; e0 += 64) {
    const int nv = static_cast<int>(std::min<int64_t>(64, hd - e0) / 8);
    __m256 acc[8];
    for (int i = 0; i < nv; ++i) acc[i] = _mm256_loadu_ps(out + e0 + 8 * i);
    for (int64_t j = 0; j < n; ++j) {
      const __m256 w = _mm256_set1_ps(p[j]);
      const float* vr = v + j * stride + e0;
      for (int i = 0; i < nv; ++i) acc[i] = _mm256_fmadd_ps(w, _mm256_loadu_ps(vr + 8 * i), acc[i]);
    }
    for (int i = 0; i < nv; ++i) _mm256_storeu_ps(out + e0 + 8 * i, acc[i]);
  }
}
#endif

}  // namespace

void attention_softmax_row(float* row, int64_t n) {
  int64_t s = 0;
  float mx = row[0];
#if defined(__AVX2__) && defined(__FMA__)
  if (n >= 8) {
    __m256 m8 = _mm256_loadu_ps(row);
    for (s = 8; s + 8 <= n; s += 8) m8 = _mm256_max_ps(m8, _mm256_loadu_ps(row + s));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, m8);
    mx = *std::max_element(lanes, lanes + 8);
  }
#endif
  for (; s < n; ++s) mx = std::max(mx, row[s]);
  float sum = 0.0f;
  s = 0;
#if defined(__AVX2__) && defined(__FMA__)
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256 sum8 = _mm256_setzero_ps();
  for (; s + 8 <= n; s += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + s), vmx));
    _mm256_storeu_ps(row + s, e);
    sum8 = _mm256_add_ps(sum8, e);
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum8);
  for (float l : lanes) sum += l;
#endif
  for (; s < n; ++s) {
    row[s] = exp_approx(row[s] - mx);
    sum += row[s];
  }
  const float inv = 1.0f / sum;
  for (s = 0; s < n; ++s) row[s] *= inv;
}

void attention_scores(const float* q, int64_t kv_heads, int64_t group, int64_t hd, const float* k, int64_t stride,
                      int64_t len, float scale, float* scores) {
  const int64_t heads = kv_heads * group, row_bytes = kv_heads * hd * static_cast<int64_t>(sizeof(float));
  for (int64_t s = 0; s < len; s += kStep) {
    const int64_t n = std::min(kStep, len - s);
    prefetch_rows(k, stride, std::min(len, s + 2 * kStep), std::min(len, s + 3 * kStep), row_bytes);
    for (int64_t h = 0; h < heads; ++h) {
      const float* qh = q + h * hd;
      const float* kh = k + s * stride + (h / group) * hd;
#if defined(__AVX2__) && defined(__FMA__)
      if (hd % 8 == 0) {
        dot_rows8(qh, kh, stride, n, hd, _mm256_set1_ps(scale), scores + h * len + s);
        continue;
      }
#endif
      for (int64_t j = 0; j < n; ++j) {
        float dot = 0.0f;
        for (int64_t e = 0; e < hd; ++e) dot += qh[e] * kh[j * stride + e];
        scores[h * len + s + j] = dot * scale;
      }
    }
  }
}

void attention_weighted_sum(const float* p, int64_t kv_heads, int64_t group, int64_t hd, const float* v, int64_t stride,
                            int64_t len, float* out) {
  const int64_t heads = kv_heads * group, row_bytes = kv_heads * hd * static_cast<int64_t>(sizeof(float));
  std::fill(out, out + heads * hd, 0.0f);
  for (int64_t s = 0; s < len; s += kStep) {
    const int64_t n = std::min(kStep, len - s);
    prefetch_rows(v, stride, std::min(len, s + 2 * kStep), std::min(len, s + 3 * kStep), row_bytes);
    for (int64_t h = 0; h < heads; ++h) {
      const float* ph = p + h * len + s;
      const float* vh = v + s * stride + (h / group) * hd;
      float* oh = out + h * hd;
#if defined(__AVX2__) && defined(__FMA__)
      if (hd % 8 == 0) {
        axpy_rows(ph, vh, stride, n, hd, oh);
        continue;
      }
#endif
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t e = 0; e < hd; ++e) oh[e] += ph[j] * vh[j * stride + e];
      }
    }
  }
}

}  // namespace forge::cpu
