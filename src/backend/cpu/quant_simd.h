// SIMD dot-product kernels for the quantized matmul, compiled twice: quant_avx2.cpp (AVX2:
// maddubs + madd) and quant_avx512.cpp (AVX-512 VL + VNNI: dpbusd), which define
// FORGE_QTARGET (a function target attribute or nothing) and FORGE_QVNNI before including
// this file inside their own namespace. Weights are unsigned (nibbles, 6-bit) or made
// unsigned with the sign trick; activations are signed 8-bit (BlockQ8A / BlockQ8K).
// Not a public header; the including file provides <immintrin.h> and backend/cpu/quant.h.

FORGE_QTARGET static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// acc += dot4(u8 u, s8 s) per int32 lane.
FORGE_QTARGET static inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
#if FORGE_QVNNI
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

// acc += scale_lo * dot(bytes 0..15) + scale_hi * dot(bytes 16..31), per int32 lane.
FORGE_QTARGET static inline __m256i dot_u8s8_scaled(__m256i acc, __m256i u, __m256i s, int scale_lo, int scale_hi) {
#if FORGE_QVNNI
  const __m256i p = _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
  return _mm256_add_epi32(acc, _mm256_mullo_epi32(p, _mm256_set_m128i(_mm_set1_epi32(scale_hi), _mm_set1_epi32(scale_lo))));
#else
  const __m256i sc = _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(scale_hi)),
                                      _mm_set1_epi16(static_cast<int16_t>(scale_lo)));
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), sc));
#endif
}

FORGE_QTARGET static inline float hsum_ps(__m256 v) {
  __m128 x = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  x = _mm_add_ps(x, _mm_movehl_ps(x, x));
  x = _mm_add_ss(x, _mm_movehdup_ps(x));
  return _mm_cvtss_f32(x);
}

FORGE_QTARGET static inline int hsum_epi32(__m256i v) {
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
  return _mm_cvtsi128_si32(x);
}

// 32 nibbles of a Q4 block: low nibbles are elements 0..15, high nibbles 16..31.
FORGE_QTARGET static inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(raw, 4), raw), _mm256_set1_epi8(0x0F));
}

FORGE_QTARGET static float dot_q8_0(int64_t K, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ8_0*>(wv);
  const auto* a = static_cast<const BlockQ8A*>(av);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  const int64_t nb = K / 32;
  int64_t b = 0;
  for (; b + 1 < nb; b += 2) {
    const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    const __m256i q1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b + 1].qs));
    const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs));
    const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b + 1].qs));
    const __m256i p0 = dot_u8s8(_mm256_setzero_si256(), _mm256_sign_epi8(q0, q0), _mm256_sign_epi8(y0, q0));
    const __m256i p1 = dot_u8s8(_mm256_setzero_si256(), _mm256_sign_epi8(q1, q1), _mm256_sign_epi8(y1, q1));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(h2f(w[b].d) * a[b].d), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(h2f(w[b + 1].d) * a[b + 1].d), acc1);
  }
  for (; b < nb; ++b) {
    const __m256i q0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
    const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs));
    const __m256i p0 = dot_u8s8(_mm256_setzero_si256(), _mm256_sign_epi8(q0, q0), _mm256_sign_epi8(y0, q0));
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(h2f(w[b].d) * a[b].d), acc0);
  }
  return hsum_ps(_mm256_add_ps(acc0, acc1));
}

// Q4_0 (offset 8) and Q4_1 (min m): sum = d*ad*dot(q, y) + (m or -8d)*ad*sum(y).
template <bool kHasMin, typename Block>
FORGE_QTARGET static inline float dot_q4(int64_t K, const Block* w, const BlockQ8A* a) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  float corr = 0.0f;
  const int64_t nb = K / 32;
  int64_t b = 0;
  for (; b + 1 < nb; b += 2) {
    const __m256i p0 = dot_u8s8(_mm256_setzero_si256(), unpack_nibbles(w[b].qs),
                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs)));
    const __m256i p1 = dot_u8s8(_mm256_setzero_si256(), unpack_nibbles(w[b + 1].qs),
                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b + 1].qs)));
    const float d0 = h2f(w[b].d), d1 = h2f(w[b + 1].d);
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(d0 * a[b].d), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_set1_ps(d1 * a[b + 1].d), acc1);
    if constexpr (kHasMin) {
      corr += h2f(w[b].m) * a[b].d * static_cast<float>(a[b].sum) +
              h2f(w[b + 1].m) * a[b + 1].d * static_cast<float>(a[b + 1].sum);
    } else {
      corr -= 8.0f * (d0 * a[b].d * static_cast<float>(a[b].sum) + d1 * a[b + 1].d * static_cast<float>(a[b + 1].sum));
    }
  }
  for (; b < nb; ++b) {
    const __m256i p0 = dot_u8s8(_mm256_setzero_si256(), unpack_nibbles(w[b].qs),
                                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a[b].qs)));
    const float d0 = h2f(w[b].d);
    acc0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_set1_ps(d0 * a[b].d), acc0);
    if constexpr (kHasMin) {
      corr += h2f(w[b].m) * a[b].d * static_cast<float>(a[b].sum);
    } else {
      corr -= 8.0f * d0 * a[b].d * static_cast<float>(a[b].sum);
    }
  }
  return hsum_ps(_mm256_add_ps(acc0, acc1)) + corr;
}

FORGE_QTARGET static float dot_q4_0(int64_t K, const void* w, const void* a) {
  return dot_q4<false>(K, static_cast<const BlockQ4_0*>(w), static_cast<const BlockQ8A*>(a));
}
FORGE_QTARGET static float dot_q4_1(int64_t K, const void* w, const void* a) {
  return dot_q4<true>(K, static_cast<const BlockQ4_1*>(w), static_cast<const BlockQ8A*>(a));
}

FORGE_QTARGET static float dot_q4_k(int64_t K, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ4_K*>(wv);
  const auto* a = static_cast<const BlockQ8K*>(av);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  float sum = 0.0f;
  for (int64_t b = 0; b < K / 256; ++b) {
    const uint8_t* s = w[b].scales;
    int sc[8], mn[8];
    for (int j = 0; j < 4; ++j) {
      sc[j] = s[j] & 63;
      mn[j] = s[j + 4] & 63;
      sc[j + 4] = (s[j + 8] & 0xF) | ((s[j] >> 6) << 4);
      mn[j + 4] = (s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4);
    }
    __m256i sumi = _mm256_setzero_si256();
    const int8_t* y = a[b].qs;
    for (int j = 0; j < 4; ++j) {
      const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs + 32 * j));
      const __m256i lo = _mm256_and_si256(raw, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
      sumi = dot_u8s8_scaled(sumi, lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 64 * j)), sc[2 * j],
                             sc[2 * j]);
      sumi = dot_u8s8_scaled(sumi, hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 64 * j + 32)),
                             sc[2 * j + 1], sc[2 * j + 1]);
    }
    int summ = 0;
    for (int j = 0; j < 8; ++j) summ += mn[j] * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
    sum += a[b].d * (h2f(w[b].d) * static_cast<float>(hsum_epi32(sumi)) - h2f(w[b].dmin) * static_cast<float>(summ));
  }
  return sum;
}

FORGE_QTARGET static float dot_q6_k(int64_t K, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ6_K*>(wv);
  const auto* a = static_cast<const BlockQ8K*>(av);
  const __m256i m4 = _mm256_set1_epi8(0x0F);
  const __m256i m3 = _mm256_set1_epi8(0x03);
  float sum = 0.0f;
  for (int64_t b = 0; b < K / 256; ++b) {
    __m256i sumi = _mm256_setzero_si256();
    for (int n = 0; n < 2; ++n) {
      const uint8_t* ql = w[b].ql + 64 * n;
      const int8_t* sc = w[b].scales + 8 * n;
      const int8_t* y = a[b].qs + 128 * n;
      const __m256i raw0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      const __m256i raw1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qh + 32 * n));
      const __m256i q1 = _mm256_or_si256(_mm256_and_si256(raw0, m4), _mm256_slli_epi16(_mm256_and_si256(h, m3), 4));
      const __m256i q2 = _mm256_or_si256(_mm256_and_si256(raw1, m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), m3), 4));
      const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw0, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), m3), 4));
      const __m256i q4 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(raw1, 4), m4),
                                         _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), m3), 4));
      sumi = dot_u8s8_scaled(sumi, q1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y)), sc[0], sc[1]);
      sumi = dot_u8s8_scaled(sumi, q2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 32)), sc[2], sc[3]);
      sumi = dot_u8s8_scaled(sumi, q3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 64)), sc[4], sc[5]);
      sumi = dot_u8s8_scaled(sumi, q4, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + 96)), sc[6], sc[7]);
    }
    int corr = 0;
    for (int k = 0; k < 16; ++k) corr += w[b].scales[k] * a[b].bsums[k];
    sum += a[b].d * h2f(w[b].d) * static_cast<float>(hsum_epi32(sumi) - 32 * corr);
  }
  return sum;
}

static QuantDotFn select_dot(DType wtype) {
  switch (wtype) {
    case DType::kQ8_0: return dot_q8_0;
    case DType::kQ4_0: return dot_q4_0;
    case DType::kQ4_1: return dot_q4_1;
    case DType::kQ4_K: return dot_q4_k;
    case DType::kQ6_K: return dot_q6_k;
    default: return nullptr;
  }
}
