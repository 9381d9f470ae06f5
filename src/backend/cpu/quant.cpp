// Dequantization and reference quantization of the ggml block formats. The arithmetic mirrors
// ggml-quants.c (dequantize_row_*, quantize_row_*_ref) operation by operation; fused
// multiply-adds are disabled here because ggml's and numpy's results round each product.
#pragma GCC optimize("fp-contract=off")
#include "backend/cpu/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backend/cpu/half.h"
#include "core/error.h"

namespace forge::cpu {

namespace {

constexpr int QK = 32;
constexpr int QKK = 256;
constexpr float kGroupMaxEps = 1e-15f;

inline float h2f(uint16_t h) { return f16_to_float(h); }
inline uint16_t f2h(float f) { return float_to_f16(f); }

// ggml's nearest_int: round half to even via the 1.5*2^23 trick (|f| <= 4194303).
inline int nearest_int(float fval) {
  float val = fval + 12582912.f;
  int i;
  std::memcpy(&i, &val, sizeof(int));
  return (i & 0x007fffff) - 0x00400000;
}

inline void get_scale_min_k4(int j, const uint8_t* q, uint8_t* d, uint8_t* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4));
  }
}

// ---- dequantization

void deq_q8_0(const BlockQ8_0* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d);
    for (int j = 0; j < QK; ++j) y[i * QK + j] = d * static_cast<float>(x[i].qs[j]);
  }
}

void deq_q4_0(const BlockQ4_0* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d);
    for (int j = 0; j < QK / 2; ++j) {
      y[i * QK + j] = d * static_cast<float>((x[i].qs[j] & 0x0F) - 8);
      y[i * QK + j + QK / 2] = d * static_cast<float>((x[i].qs[j] >> 4) - 8);
    }
  }
}

void deq_q4_1(const BlockQ4_1* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d), m = h2f(x[i].m);
    for (int j = 0; j < QK / 2; ++j) {
      y[i * QK + j] = d * static_cast<float>(x[i].qs[j] & 0x0F) + m;
      y[i * QK + j + QK / 2] = d * static_cast<float>(x[i].qs[j] >> 4) + m;
    }
  }
}

void deq_q5_0(const BlockQ5_0* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    for (int j = 0; j < QK / 2; ++j) {
      const uint8_t xh0 = static_cast<uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
      const uint8_t xh1 = static_cast<uint8_t>(((qh >> (j + 12))) & 0x10);
      y[i * QK + j] = d * static_cast<float>(((x[i].qs[j] & 0x0F) | xh0) - 16);
      y[i * QK + j + QK / 2] = d * static_cast<float>(((x[i].qs[j] >> 4) | xh1) - 16);
    }
  }
}

void deq_q5_1(const BlockQ5_1* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d), m = h2f(x[i].m);
    uint32_t qh;
    std::memcpy(&qh, x[i].qh, 4);
    for (int j = 0; j < QK / 2; ++j) {
      const uint8_t xh0 = static_cast<uint8_t>(((qh >> (j + 0)) << 4) & 0x10);
      const uint8_t xh1 = static_cast<uint8_t>(((qh >> (j + 12))) & 0x10);
      y[i * QK + j] = d * static_cast<float>((x[i].qs[j] & 0x0F) | xh0) + m;
      y[i * QK + j + QK / 2] = d * static_cast<float>((x[i].qs[j] >> 4) | xh1) + m;
    }
  }
}

void deq_q4_k(const BlockQ4_K* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* q = x[i].qs;
    const float d = h2f(x[i].d), min = h2f(x[i].dmin);
    int is = 0;
    uint8_t sc, m;
    for (int j = 0; j < QKK; j += 64) {
      get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
      q += 32;
      is += 2;
    }
  }
}

void deq_q5_k(const BlockQ5_K* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const uint8_t* ql = x[i].qs;
    const uint8_t* qh = x[i].qh;
    const float d = h2f(x[i].d), min = h2f(x[i].dmin);
    int is = 0;
    uint8_t sc, m;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < QKK; j += 64) {
      get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = min * m;
      get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = min * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
      ql += 32;
      is += 2;
      u1 = static_cast<uint8_t>(u1 << 2);
      u2 = static_cast<uint8_t>(u2 << 2);
    }
  }
}

void deq_q6_k(const BlockQ6_K* x, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = h2f(x[i].d);
    const uint8_t* ql = x[i].ql;
    const uint8_t* qh = x[i].qh;
    const int8_t* sc = x[i].scales;
    for (int n = 0; n < QKK; n += 128) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = static_cast<int8_t>((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = static_cast<int8_t>((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l + 0] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

// ---- reference quantization

void q_q8_0(const float* x, BlockQ8_0* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    float amax = 0.0f;
    for (int j = 0; j < QK; ++j) amax = std::max(amax, std::fabs(x[i * QK + j]));
    const float d = amax / 127.f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f2h(d);
    for (int j = 0; j < QK; ++j) y[i].qs[j] = static_cast<int8_t>(std::roundf(x[i * QK + j] * id));
  }
}

template <int kMaxQ>
void q_sym(const float* x, uint8_t* q /*32*/, float* dout) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < QK; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  const float d = max / -static_cast<float>(kMaxQ);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < QK; ++j) {
    constexpr float kOffset = static_cast<float>(kMaxQ) + 0.5f;  // one rounding, as ggml's x0 + 8.5f
    const float v = x[j] * id;
    q[j] = static_cast<uint8_t>(std::min<int>(2 * kMaxQ - 1, static_cast<int8_t>(v + kOffset)));
  }
  *dout = d;
}

template <int kLevels>
void q_asym(const float* x, uint8_t* q, float* dout, float* mout) {
  float min = x[0], max = x[0];
  for (int j = 1; j < QK; ++j) {
    min = std::min(min, x[j]);
    max = std::max(max, x[j]);
  }
  const float d = (max - min) / static_cast<float>(kLevels - 1);
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < QK; ++j) {
    const float v = (x[j] - min) * id;
    q[j] = static_cast<uint8_t>(std::min<int>(kLevels - 1, static_cast<int8_t>(v + 0.5f)));
  }
  *dout = d;
  *mout = min;
}

void pack_nibbles(const uint8_t* q, uint8_t* qs) {
  for (int j = 0; j < QK / 2; ++j) qs[j] = static_cast<uint8_t>((q[j] & 0x0F) | ((q[j + QK / 2] & 0x0F) << 4));
}
void pack_high_bits(const uint8_t* q, uint8_t* qh) {
  uint32_t h = 0;
  for (int j = 0; j < QK; ++j) h |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
  std::memcpy(qh, &h, 4);
}

float make_qx_quants(int n, int nmax, const float* x, int8_t* L, int rmse_type) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.f;
  }
  float iscale = -static_cast<float>(nmax) / max;
  float sumlx = 0, suml2 = 0;
  auto weight = [&](int i) { return rmse_type == 1 ? x[i] * x[i] : 1.0f; };
  for (int i = 0; i < n; ++i) {
    int l = nearest_int(iscale * x[i]);
    l = std::max(-nmax, std::min(nmax - 1, l));
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = weight(i);
    sumlx += w * x[i] * static_cast<float>(l);
    suml2 += w * static_cast<float>(l) * static_cast<float>(l);
  }
  float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(is)) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * x[i]);
      l = std::max(-nmax, std::min(nmax - 1, l));
      const float w = weight(i);
      sumlx += w * x[i] * static_cast<float>(l);
      suml2 += w * static_cast<float>(l) * static_cast<float>(l);
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * x[i]);
        L[i] = static_cast<int8_t>(nmax + std::max(-nmax, std::min(nmax - 1, l)));
      }
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float make_qkx2_quants(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min,
                       uint8_t* Laux, float rmin, float rdelta, int nstep, bool use_mad) {
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    const float w = weights[i];
    sum_w += w;
    sum_x += w * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.f;
  }
  float iscale = static_cast<float>(nmax) / (max - min);
  float scale = 1 / iscale;
  float best_mad = 0;
  for (int i = 0; i < n; ++i) {
    const int l = nearest_int(iscale * (x[i] - min));
    L[i] = static_cast<uint8_t>(std::max(0, std::min(nmax, l)));
    float diff = scale * static_cast<float>(L[i]) + min - x[i];
    diff = use_mad ? std::fabs(diff) : diff * diff;
    best_mad += weights[i] * diff;
  }
  if (nstep < 1) {
    *the_min = -min;
    return scale;
  }
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * static_cast<float>(is) + static_cast<float>(nmax)) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      int l = nearest_int(iscale * (x[i] - min));
      l = std::max(0, std::min(nmax, l));
      Laux[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      const float lf = static_cast<float>(l);
      sum_l += w * lf;
      sum_l2 += w * lf * lf;
      sum_xl += w * lf * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float mad = 0;
      for (int i = 0; i < n; ++i) {
        float diff = this_scale * static_cast<float>(Laux[i]) + this_min - x[i];
        diff = use_mad ? std::fabs(diff) : diff * diff;
        mad += weights[i] * diff;
      }
      if (mad < best_mad) {
        for (int i = 0; i < n; ++i) L[i] = Laux[i];
        best_mad = mad;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

void q_q4_k(const float* x, BlockQ4_K* y, int64_t nb) {
  uint8_t L[QKK];
  uint8_t Laux[32];
  float weights[32];
  float mins[QKK / 32];
  float scales[QKK / 32];
  for (int64_t i = 0; i < nb; ++i) {
    std::memset(&y[i], 0, sizeof(BlockQ4_K));
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QKK / 32; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      scales[j] = make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -1.f, 0.1f, 20, false);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QKK / 32; ++j) {
      uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
      uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
      ls = std::min<uint8_t>(63, ls);
      lm = std::min<uint8_t>(63, lm);
      if (j < 4) {
        y[i].scales[j] = ls;
        y[i].scales[j + 4] = lm;
      } else {
        y[i].scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        y[i].scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
        y[i].scales[j - 0] |= static_cast<uint8_t>((lm >> 4) << 6);
      }
    }
    y[i].d = f2h(max_scale / 63.f);
    y[i].dmin = f2h(max_min / 63.f);
    uint8_t sc, m;
    for (int j = 0; j < QKK / 32; ++j) {
      get_scale_min_k4(j, y[i].scales, &sc, &m);
      const float d = h2f(y[i].d) * sc;
      if (d == 0.0f) continue;
      const float dm = h2f(y[i].dmin) * m;
      for (int ii = 0; ii < 32; ++ii) {
        const int l = nearest_int((x[32 * j + ii] + dm) / d);
        L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(15, l)));
      }
    }
    uint8_t* q = y[i].qs;
    for (int j = 0; j < QKK; j += 64) {
      for (int l = 0; l < 32; ++l) q[l] = static_cast<uint8_t>(L[j + l] | (L[j + l + 32] << 4));
      q += 32;
    }
    x += QKK;
  }
}

// ggml's quantize_row_q5_K_ref: as Q4_K with 32 levels (5 bits: low nibble in qs, the fifth bit
// in qh, two bits per byte per 64 values).
void q_q5_k(const float* x, BlockQ5_K* y, int64_t nb) {
  uint8_t L[QKK];
  uint8_t Laux[32];
  float weights[32];
  float mins[QKK / 32];
  float scales[QKK / 32];
  for (int64_t i = 0; i < nb; ++i) {
    std::memset(&y[i], 0, sizeof(BlockQ5_K));
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QKK / 32; ++j) {
      float sum_x2 = 0;
      for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
      const float av_x = std::sqrt(sum_x2 / 32);
      for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(x[32 * j + l]);
      scales[j] = make_qkx2_quants(32, 31, x + 32 * j, weights, L + 32 * j, &mins[j], Laux, -0.5f, 0.1f, 15, false);
      if (scales[j] > max_scale) max_scale = scales[j];
      if (mins[j] > max_min) max_min = mins[j];
    }
    const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QKK / 32; ++j) {
      uint8_t ls = static_cast<uint8_t>(nearest_int(inv_scale * scales[j]));
      uint8_t lm = static_cast<uint8_t>(nearest_int(inv_min * mins[j]));
      ls = std::min<uint8_t>(63, ls);
      lm = std::min<uint8_t>(63, lm);
      if (j < 4) {
        y[i].scales[j] = ls;
        y[i].scales[j + 4] = lm;
      } else {
        y[i].scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
        y[i].scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
        y[i].scales[j - 0] |= static_cast<uint8_t>((lm >> 4) << 6);
      }
    }
    y[i].d = f2h(max_scale / 63.f);
    y[i].dmin = f2h(max_min / 63.f);
    uint8_t sc, m;
    for (int j = 0; j < QKK / 32; ++j) {
      get_scale_min_k4(j, y[i].scales, &sc, &m);
      const float d = h2f(y[i].d) * sc;
      if (d == 0.0f) continue;
      const float dm = h2f(y[i].dmin) * m;
      for (int ii = 0; ii < 32; ++ii) {
        const int l = nearest_int((x[32 * j + ii] + dm) / d);
        L[32 * j + ii] = static_cast<uint8_t>(std::max(0, std::min(31, l)));
      }
    }
    uint8_t* qh = y[i].qh;
    uint8_t* ql = y[i].qs;
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < QKK; n += 64) {
      for (int j = 0; j < 32; ++j) {
        int l1 = L[n + j];
        if (l1 > 15) {
          l1 -= 16;
          qh[j] = static_cast<uint8_t>(qh[j] | m1);
        }
        int l2 = L[n + j + 32];
        if (l2 > 15) {
          l2 -= 16;
          qh[j] = static_cast<uint8_t>(qh[j] | m2);
        }
        ql[j] = static_cast<uint8_t>(l1 | (l2 << 4));
      }
      m1 = static_cast<uint8_t>(m1 << 2);
      m2 = static_cast<uint8_t>(m2 << 2);
      ql += 32;
    }
    x += QKK;
  }
}

void q_q6_k(const float* x, BlockQ6_K* y, int64_t nb) {
  int8_t L[QKK];
  float scales[QKK / 16];
  for (int64_t i = 0; i < nb; ++i) {
    float max_scale = 0, max_abs_scale = 0;
    for (int ib = 0; ib < QKK / 16; ++ib) {
      const float scale = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib, 1);
      scales[ib] = scale;
      const float abs_scale = std::fabs(scale);
      if (abs_scale > max_abs_scale) {
        max_abs_scale = abs_scale;
        max_scale = scale;
      }
    }
    std::memset(&y[i], 0, sizeof(BlockQ6_K));
    if (max_abs_scale < kGroupMaxEps) {
      y[i].d = f2h(0.f);
      x += QKK;
      continue;
    }
    const float iscale = -128.f / max_scale;
    y[i].d = f2h(1 / iscale);
    for (int ib = 0; ib < QKK / 16; ++ib) {
      y[i].scales[ib] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[ib])));
    }
    for (int j = 0; j < QKK / 16; ++j) {
      const float d = h2f(y[i].d) * static_cast<float>(y[i].scales[j]);
      if (d == 0.0f) continue;
      for (int ii = 0; ii < 16; ++ii) {
        int l = nearest_int(x[16 * j + ii] / d);
        l = std::max(-32, std::min(31, l));
        L[16 * j + ii] = static_cast<int8_t>(l + 32);
      }
    }
    uint8_t* ql = y[i].ql;
    uint8_t* qh = y[i].qh;
    for (int j = 0; j < QKK; j += 128) {
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = L[j + l + 0] & 0xF;
        const uint8_t q2 = L[j + l + 32] & 0xF;
        const uint8_t q3 = L[j + l + 64] & 0xF;
        const uint8_t q4 = L[j + l + 96] & 0xF;
        ql[l + 0] = static_cast<uint8_t>(q1 | (q3 << 4));
        ql[l + 32] = static_cast<uint8_t>(q2 | (q4 << 4));
        qh[l] = static_cast<uint8_t>((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                                     ((L[j + l + 96] >> 4) << 6));
      }
      ql += 64;
      qh += 32;
    }
    x += QKK;
  }
}

}  // namespace

void dequantize_row(DType type, const void* src, float* dst, int64_t n) {
  const int64_t nb = n / block_size(type);
  FORGE_CHECK(n % block_size(type) == 0, "[dequantize] {} needs a multiple of {} elements, got {}", dtype_name(type),
              block_size(type), n);
  switch (type) {
    case DType::kF32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); return;
    case DType::kF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_float(s[i]);
      return;
    }
    case DType::kBF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_float(s[i]);
      return;
    }
    case DType::kQ8_0: deq_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb); return;
    case DType::kQ4_0: deq_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb); return;
    case DType::kQ4_1: deq_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb); return;
    case DType::kQ5_0: deq_q5_0(static_cast<const BlockQ5_0*>(src), dst, nb); return;
    case DType::kQ5_1: deq_q5_1(static_cast<const BlockQ5_1*>(src), dst, nb); return;
    case DType::kQ4_K: deq_q4_k(static_cast<const BlockQ4_K*>(src), dst, nb); return;
    case DType::kQ5_K: deq_q5_k(static_cast<const BlockQ5_K*>(src), dst, nb); return;
    case DType::kQ6_K: deq_q6_k(static_cast<const BlockQ6_K*>(src), dst, nb); return;
    default: fail("[dequantize] cannot dequantize dtype {}", dtype_name(type));
  }
}

bool can_quantize(DType type) {
  switch (type) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ8_0: case DType::kQ4_0: case DType::kQ4_1:
    case DType::kQ5_0: case DType::kQ5_1: case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K: return true;
    default: return false;
  }
}

void quantize_row(DType type, const float* x, void* dst, int64_t n) {
  FORGE_CHECK(can_quantize(type), "[quantize] cannot quantize to {} (supported: f16, bf16, q8_0, q4_0, q4_1, q5_0, "
              "q5_1, q4_K, q5_K, q6_K)", dtype_name(type));
  FORGE_CHECK(n % block_size(type) == 0, "[quantize] {} needs a multiple of {} elements, got {}", dtype_name(type),
              block_size(type), n);
  const int64_t nb = n / block_size(type);
  uint8_t q[QK];
  switch (type) {
    case DType::kF32: std::memcpy(dst, x, static_cast<size_t>(n) * 4); return;
    case DType::kF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = float_to_f16(x[i]);
      return;
    }
    case DType::kBF16: {
      auto* d = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = float_to_bf16(x[i]);
      return;
    }
    case DType::kQ8_0: q_q8_0(x, static_cast<BlockQ8_0*>(dst), nb); return;
    case DType::kQ4_0: {
      auto* y = static_cast<BlockQ4_0*>(dst);
      for (int64_t i = 0; i < nb; ++i) {
        float d;
        q_sym<8>(x + i * QK, q, &d);
        y[i].d = f2h(d);
        pack_nibbles(q, y[i].qs);
      }
      return;
    }
    case DType::kQ5_0: {
      auto* y = static_cast<BlockQ5_0*>(dst);
      for (int64_t i = 0; i < nb; ++i) {
        float d;
        q_sym<16>(x + i * QK, q, &d);
        y[i].d = f2h(d);
        pack_nibbles(q, y[i].qs);
        pack_high_bits(q, y[i].qh);
      }
      return;
    }
    case DType::kQ4_1: {
      auto* y = static_cast<BlockQ4_1*>(dst);
      for (int64_t i = 0; i < nb; ++i) {
        float d, m;
        q_asym<16>(x + i * QK, q, &d, &m);
        y[i].d = f2h(d);
        y[i].m = f2h(m);
        pack_nibbles(q, y[i].qs);
      }
      return;
    }
    case DType::kQ5_1: {
      auto* y = static_cast<BlockQ5_1*>(dst);
      for (int64_t i = 0; i < nb; ++i) {
        float d, m;
        q_asym<32>(x + i * QK, q, &d, &m);
        y[i].d = f2h(d);
        y[i].m = f2h(m);
        pack_nibbles(q, y[i].qs);
        pack_high_bits(q, y[i].qh);
      }
      return;
    }
    case DType::kQ4_K: q_q4_k(x, static_cast<BlockQ4_K*>(dst), nb); return;
    case DType::kQ5_K: q_q5_k(x, static_cast<BlockQ5_K*>(dst), nb); return;
    case DType::kQ6_K: q_q6_k(x, static_cast<BlockQ6_K*>(dst), nb); return;
    default: break;
  }
}

}  // namespace forge::cpu
