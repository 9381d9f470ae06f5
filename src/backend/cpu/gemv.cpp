#include "backend/cpu/gemv.h"

#include <immintrin.h>

namespace forge::cpu {

namespace {

// Horizontal sum (GCC 12's AVX-512 reduce intrinsic trips a false -Wmaybe-uninitialized).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
__attribute__((target("avx512f"))) inline float hsum(__m512 v) { return _mm512_reduce_add_ps(v); }
#pragma GCC diagnostic pop

// Four output rows at a time share each load of x; 16-wide FMAs, masked tail.
__attribute__((target("avx512f"))) void gemv_avx512(int64_t n, int64_t k, const float* x, const float* w,
                                                     int64_t ldw, const float* bias, float* y) {
  const int64_t kv = k / 16 * 16;
  const __mmask16 tail = static_cast<__mmask16>((1u << (k - kv)) - 1u);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const float* w0 = w + j * ldw;
    const float* w1 = w0 + ldw;
    const float* w2 = w1 + ldw;
    const float* w3 = w2 + ldw;
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
    // Two accumulators per row (8 FMA chains) hide the FMA latency.
    __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps(), b2 = _mm512_setzero_ps(), b3 = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= kv; i += 32) {
      const __m512 xv = _mm512_loadu_ps(x + i);
      const __m512 xw = _mm512_loadu_ps(x + i + 16);
      a0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w0 + i), a0);
      a1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w1 + i), a1);
      a2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w2 + i), a2);
      a3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w3 + i), a3);
      b0 = _mm512_fmadd_ps(xw, _mm512_loadu_ps(w0 + i + 16), b0);
      b1 = _mm512_fmadd_ps(xw, _mm512_loadu_ps(w1 + i + 16), b1);
      b2 = _mm512_fmadd_ps(xw, _mm512_loadu_ps(w2 + i + 16), b2);
      b3 = _mm512_fmadd_ps(xw, _mm512_loadu_ps(w3 + i + 16), b3);
    }
    for (; i < kv; i += 16) {
      const __m512 xv = _mm512_loadu_ps(x + i);
      a0 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w0 + i), a0);
      a1 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w1 + i), a1);
      a2 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w2 + i), a2);
      a3 = _mm512_fmadd_ps(xv, _mm512_loadu_ps(w3 + i), a3);
    }
    a0 = _mm512_add_ps(a0, b0);
    a1 = _mm512_add_ps(a1, b1);
    a2 = _mm512_add_ps(a2, b2);
    a3 = _mm512_add_ps(a3, b3);
    if (tail != 0) {
      const __m512 xv = _mm512_maskz_loadu_ps(tail, x + kv);
      a0 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, w0 + kv), a0);
      a1 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, w1 + kv), a1);
      a2 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, w2 + kv), a2);
      a3 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(tail, w3 + kv), a3);
    }
    y[j] = hsum(a0);
    y[j + 1] = hsum(a1);
    y[j + 2] = hsum(a2);
    y[j + 3] = hsum(a3);
  }
  for (; j < n; ++j) {
    const float* wj = w + j * ldw;
    __m512 a = _mm512_setzero_ps();
    for (int64_t i = 0; i < kv; i += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(wj + i), a);
    if (tail != 0) a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + kv), _mm512_maskz_loadu_ps(tail, wj + kv), a);
    y[j] = hsum(a);
  }
  if (bias != nullptr) {
    for (int64_t jj = 0; jj < n; ++jj) y[jj] += bias[jj];
  }
}

void gemv_generic(int64_t n, int64_t k, const float* x, const float* w, int64_t ldw, const float* bias, float* y) {
  for (int64_t j = 0; j < n; ++j) {
    const float* wj = w + j * ldw;
    float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < k; ++i) acc += x[i] * wj[i];
    y[j] = acc + (bias != nullptr ? bias[j] : 0.0f);
  }
}

const bool kHasAvx512 = __builtin_cpu_supports("avx512f");

}  // namespace

void gemv_rows(int64_t n, int64_t k, const float* x, const float* w, int64_t ldw, const float* bias, float* y) {
  if (kHasAvx512) {
    gemv_avx512(n, k, x, w, ldw, bias, y);
  } else {
    gemv_generic(n, k, x, w, ldw, bias, y);
  }
}

}  // namespace forge::cpu
