#include "backend/cpu/gelu.h"

#include "backend/cpu/vec_math.h"
#include "core/parallel.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

namespace forge::cpu {

namespace {

constexpr float kInvSqrt2 = 0.70710678118654752f;

#if defined(__AVX2__) && defined(__FMA__)
// The rational of erf_approx on four doubles (x already clamped to [-4, 4]).
inline __m256d erf_rational(__m256d x) {
  const __m256d x2 = _mm256_mul_pd(x, x);
  __m256d p = _mm256_set1_pd(-2.72614225801306e-10);
  p = _mm256_fmadd_pd(p, x2, _mm256_set1_pd(2.77068142495902e-08));
  p = _mm256_fmadd_pd(p, x2, _mm256_set1_pd(-2.10102402082508e-06));
  p = _mm256_fmadd_pd(p, x2, _mm256_set1_pd(-5.69250639462346e-05));
  p = _mm256_fmadd_pd(p, x2, _mm256_set1_pd(-7.34990630326855e-04));
  p = _mm256_fmadd_pd(p, x2, _mm256_set1_pd(-2.95459980854025e-03));
  p = _mm256_fmadd_pd(p, x2, _mm256_set1_pd(-1.60960333262415e-02));
  __m256d q = _mm256_set1_pd(-1.45660718464996e-05);
  q = _mm256_fmadd_pd(q, x2, _mm256_set1_pd(-2.13374055278905e-04));
  q = _mm256_fmadd_pd(q, x2, _mm256_set1_pd(-1.68282697438203e-03));
  q = _mm256_fmadd_pd(q, x2, _mm256_set1_pd(-7.37332916720468e-03));
  q = _mm256_fmadd_pd(q, x2, _mm256_set1_pd(-1.42647390514189e-02));
  return _mm256_div_pd(_mm256_mul_pd(x, p), q);
}

// Phi(v) for eight floats: (1 + erf(v / sqrt 2)) / 2, erf as erf_approx.
inline __m256 cdf8(__m256 v) {
  __m256 x = _mm256_mul_ps(v, _mm256_set1_ps(kInvSqrt2));
  // max_ps/min_ps return their second operand when one is NaN: the constant goes first so
  // that a NaN input stays NaN.
  x = _mm256_min_ps(_mm256_set1_ps(4.0f), _mm256_max_ps(_mm256_set1_ps(-4.0f), x));
  const __m256d lo = erf_rational(_mm256_cvtps_pd(_mm256_castps256_ps128(x)));
  const __m256d hi = erf_rational(_mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
  const __m256 e = _mm256_insertf128_ps(_mm256_castps128_ps256(_mm256_cvtpd_ps(lo)), _mm256_cvtpd_ps(hi), 1);
  return _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}
#endif

inline float cdf1(float v) { return 0.5f * (1.0f + erf_approx(v * kInvSqrt2)); }

// out[i] = f(x[i], Phi(x[i])) in parallel chunks, eight lanes at a time where AVX2 is on.
template <typename Vec, typename Scalar>
void cdf_map(const float* x, float* out, int64_t n, Vec&& vec, Scalar&& scalar) {
  parallel_for(0, n, 1 << 14, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__AVX2__) && defined(__FMA__)
    for (; i + 8 <= end; i += 8) {
      const __m256 v = _mm256_loadu_ps(x + i);
      _mm256_storeu_ps(out + i, vec(v, cdf8(v)));
    }
#else
    (void)vec;
#endif
    for (; i < end; ++i) out[i] = scalar(x[i], cdf1(x[i]));
  });
}

}  // namespace

void gelu_forward(const float* x, float* y, int64_t n) {
  cdf_map(
      x, y, n,
#if defined(__AVX2__) && defined(__FMA__)
      [](__m256 v, __m256 c) { return _mm256_mul_ps(v, c); },
#else
      [](float v, float c) { return v * c; },
#endif
      [](float v, float c) { return v * c; });
}

void normal_cdf(const float* x, float* out, int64_t n) {
  cdf_map(
      x, out, n,
#if defined(__AVX2__) && defined(__FMA__)
      [](__m256, __m256 c) { return c; },
#else
      [](float, float c) { return c; },
#endif
      [](float, float c) { return c; });
}

}  // namespace forge::cpu
