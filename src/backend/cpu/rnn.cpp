#include "backend/cpu/rnn.h"

#include <algorithm>
#include <cstring>

#include "backend/cpu/gemm.h"
#include "backend/cpu/vec_math.h"

namespace forge::cpu {

namespace {

inline float sigmoid(float v) { return 1.0f / (1.0f + exp_approx(-v)); }
// tanh with ~1e-7 relative error: (1 - e^{-2|v|}) / (1 + e^{-2|v|}) with the sign restored, and
// the odd Taylor series below |v| = 0.0625 where that difference would cancel. Branch-free so
// the loops vectorize.
inline float tanh_fast(float v) {
  const float a = v < 0.0f ? -v : v;
  const float e = exp_approx(-2.0f * a);
  const float big = (1.0f - e) / (1.0f + e);
  const float v2 = v * v;
  const float small = a * (1.0f + v2 * (-0.333333333f + v2 * (0.133333333f + v2 * -0.053968254f)));
  const float r = a < 0.0625f ? small : big;
  return v < 0.0f ? -r : r;
}

}  // namespace

void lstm_forward(const LstmDims& d, const float* x, const float* w_ih, const float* w_hh, const float* bias,
                  const float* h0, const float* c0, float* gates, float* cells, float* hs) {
  const int64_t B = d.batch, T = d.time, I = d.input, H = d.hidden, G = 4 * H;
  // gates: [B*T, 4H] = x [B*T, I] @ w_ih^T (+ bias), one GEMM for every timestep.
  if (bias != nullptr) {
    for (int64_t r = 0; r < B * T; ++r) std::memcpy(gates + r * G, bias, sizeof(float) * G);
  }
  sgemm(false, true, B * T, G, I, 1.0f, x, I, w_ih, I, bias != nullptr ? 1.0f : 0.0f, gates, G);
  for (int64_t t = 0; t < T; ++t) {
    float* g_t = gates + t * G;  // row b at g_t + b * T * G
    const float* h_prev = t > 0 ? hs + (t - 1) * H : h0;
    const int64_t h_ld = t > 0 ? T * H : H;
    // gates[:, t] += h_{t-1} @ w_hh^T
    if (h_prev != nullptr) sgemm(false, true, B, G, H, 1.0f, h_prev, h_ld, w_hh, H, 1.0f, g_t, T * G);
    for (int64_t b = 0; b < B; ++b) {
      float* g = g_t + b * T * G;
      const float* c_prev = t > 0 ? cells + (b * T + t - 1) * H : (c0 != nullptr ? c0 + b * H : nullptr);
      float* c = cells + (b * T + t) * H;
      float* h = hs + (b * T + t) * H;
      for (int64_t j = 0; j < H; ++j) {
        const float i = sigmoid(g[j]);
        const float f = sigmoid(g[H + j]);
        const float gg = tanh_fast(g[2 * H + j]);
        const float o = sigmoid(g[3 * H + j]);
        g[j] = i;
        g[H + j] = f;
        g[2 * H + j] = gg;
        g[3 * H + j] = o;
        const float cv = (c_prev != nullptr ? f * c_prev[j] : 0.0f) + i * gg;
        c[j] = cv;
        h[j] = o * tanh_fast(cv);
      }
    }
  }
}

void lstm_backward(const LstmDims& d, const float* x, const float* w_ih, const float* w_hh, const float* h0,
                   const float* c0, const float* gates, const float* cells, const float* hs, const float* d_hs,
                   const float* d_h_last, const float* d_c_last, float* d_x, float* d_w_ih, float* d_w_hh,
                   float* d_bias, float* d_h0, float* d_c0, float* scratch) {
  const int64_t B = d.batch, T = d.time, I = d.input, H = d.hidden, G = 4 * H;
  float* d_gates = scratch;              // [B, T, 4H] pre-activation gradients
  float* h_prev_all = d_gates + B * T * G;  // [B, T, H]: h_{t-1} for every t
  float* dh = h_prev_all + B * T * H;    // [B, H] running gradient of h_t
  float* dc = dh + B * H;                // [B, H] running gradient of c_t
  if (d_h_last != nullptr) {
    std::memcpy(dh, d_h_last, sizeof(float) * B * H);
  } else {
    std::fill(dh, dh + B * H, 0.0f);
  }
  if (d_c_last != nullptr) {
    std::memcpy(dc, d_c_last, sizeof(float) * B * H);
  } else {
    std::fill(dc, dc + B * H, 0.0f);
  }
  for (int64_t t = T - 1; t >= 0; --t) {
    for (int64_t b = 0; b < B; ++b) {
      const float* g = gates + (b * T + t) * G;
      const float* c = cells + (b * T + t) * H;
      const float* c_prev = t > 0 ? cells + (b * T + t - 1) * H : (c0 != nullptr ? c0 + b * H : nullptr);
      const float* dy = d_hs + (b * T + t) * H;
      float* dg = d_gates + (b * T + t) * G;
      float* dhb = dh + b * H;
      float* dcb = dc + b * H;
      for (int64_t j = 0; j < H; ++j) {
        const float i = g[j], f = g[H + j], gg = g[2 * H + j], o = g[3 * H + j];
        const float dhv = dhb[j] + dy[j];
        const float tc = tanh_fast(c[j]);
        const float dcv = dcb[j] + dhv * o * (1.0f - tc * tc);
        const float cp = c_prev != nullptr ? c_prev[j] : 0.0f;
        dg[j] = dcv * gg * i * (1.0f - i);
        dg[H + j] = dcv * cp * f * (1.0f - f);
        dg[2 * H + j] = dcv * i * (1.0f - gg * gg);
        dg[3 * H + j] = dhv * tc * o * (1.0f - o);
        dcb[j] = dcv * f;
      }
    }
    // dh_{t-1} = d_gates[:, t] @ w_hh  ([B, 4H] @ [4H, H])
    sgemm(false, false, B, H, G, 1.0f, d_gates + t * G, T * G, w_hh, H, 0.0f, dh, H);
  }
  if (d_h0 != nullptr) std::memcpy(d_h0, dh, sizeof(float) * B * H);
  if (d_c0 != nullptr) std::memcpy(d_c0, dc, sizeof(float) * B * H);
  // Weight gradients: one GEMM each over all B*T rows.
  if (d_w_hh != nullptr) {
    for (int64_t b = 0; b < B; ++b) {
      float* dst = h_prev_all + b * T * H;
      if (h0 != nullptr) {
        std::memcpy(dst, h0 + b * H, sizeof(float) * H);
      } else {
        std::fill(dst, dst + H, 0.0f);
      }
      std::memcpy(dst + H, hs + b * T * H, sizeof(float) * (T - 1) * H);
    }
    sgemm(true, false, G, H, B * T, 1.0f, d_gates, G, h_prev_all, H, 0.0f, d_w_hh, H);
  }
  if (d_w_ih != nullptr) sgemm(true, false, G, I, B * T, 1.0f, d_gates, G, x, I, 0.0f, d_w_ih, I);
  if (d_x != nullptr) sgemm(false, false, B * T, I, G, 1.0f, d_gates, G, w_ih, I, 0.0f, d_x, I);
  if (d_bias != nullptr) {
    std::fill(d_bias, d_bias + G, 0.0f);
    for (int64_t r = 0; r < B * T; ++r) {
      const float* row = d_gates + r * G;
      for (int64_t j = 0; j < G; ++j) d_bias[j] += row[j];
    }
  }
}

}  // namespace forge::cpu
