#include "backend/cpu/winograd.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/parallel.h"

namespace forge::cpu {

namespace {

// 8 floats as one value (GCC vector extension: AVX registers when the build has AVX).
typedef float v8f __attribute__((vector_size(32)));

inline v8f load(const float* p, v8f) {
  v8f x;
  std::memcpy(&x, p, sizeof x);
  return x;
}
inline float load(const float* p, float) { return *p; }
inline void store(float* p, v8f x) { std::memcpy(p, &x, sizeof x); }
inline void store(float* p, float x) { *p = x; }
template <typename T>
constexpr int64_t width() {
  return sizeof(T) / sizeof(float);
}

// r = B^T d for one column of 6: B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//                                       0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1].
template <typename T>
inline void input_1d(const T d[6], T r[6]) {
  const T a = d[4] - 4.0f * d[2], b = d[3] - 4.0f * d[1];
  const T c = d[4] - d[2], e = 2.0f * (d[3] - d[1]);
  r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
  r[1] = a + b;
  r[2] = a - b;
  r[3] = c + e;
  r[4] = c - e;
  r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
}

// y = A^T m for one column of 6: A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
template <typename T>
inline void output_1d(const T m[6], T y[4]) {
  const T s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
  y[0] = m[0] + s12 + s34;
  y[1] = d12 + 2.0f * d34;
  y[2] = s12 + 4.0f * s34;
  y[3] = d12 + 8.0f * d34 + m[5];
}

// Channels [k0, k1) of one tile, width<T>() at a time: V[e][k] = (B^T d B)[e].
template <typename T>
void input_tile(const float* const d[6][6], float* const v[36], int64_t k0, int64_t k1) {
  constexpr int64_t w = width<T>();
  for (int64_t k = k0; k + w <= k1; k += w) {
    T t[6][6];
    for (int j = 0; j < 6; ++j) {
      T col[6], r[6];
      for (int i = 0; i < 6; ++i) col[i] = load(d[i][j] + k, T{});
      input_1d(col, r);
      for (int i = 0; i < 6; ++i) t[i][j] = r[i];
    }
    for (int i = 0; i < 6; ++i) {
      T r[6];
      input_1d(t[i], r);
      for (int j = 0; j < 6; ++j) store(v[i * 6 + j] + k, r[j]);
    }
  }
}

// Channels [k0, k1) of one tile: Y = A^T M A + bias (relu), written to the 4x4 outputs y.
template <typename T>
void output_tile(const float* const m[36], const float* bias, bool relu, float* const y[4][4], int64_t k0, int64_t k1) {
  constexpr int64_t w = width<T>();
  for (int64_t k = k0; k + w <= k1; k += w) {
    T s[4][6];
    for (int j = 0; j < 6; ++j) {
      T col[6], r[4];
      for (int i = 0; i < 6; ++i) col[i] = load(m[i * 6 + j] + k, T{});
      output_1d(col, r);
      for (int i = 0; i < 4; ++i) s[i][j] = r[i];
    }
    const T b = bias != nullptr ? load(bias + k, T{}) : T{};
    for (int i = 0; i < 4; ++i) {
      T r[4];
      output_1d(s[i], r);
      for (int j = 0; j < 4; ++j) {
        T x = r[j] + b;
        if (relu) x = x > 0.0f ? x : T{};  // NaN -> 0 like the other relu kernels
        store(y[i][j] + k, x);
      }
    }
  }
}

void input_transform(const ConvNhwcGeometry& g, const float* in, const float* zeros, int64_t tiles_w, int64_t tiles,
                     int64_t t0, int64_t t1, float* v) {
  const int64_t c = g.in_c, cv = c / 8 * 8;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t y0 = 4 * (t / tiles_w), x0 = 4 * (t % tiles_w);
    const float* d[6][6];
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t j = 0; j < 6; ++j)
        d[i][j] = y0 + i < g.in_h && x0 + j < g.in_w ? in + ((y0 + i) * g.in_w + x0 + j) * c : zeros;
    float* out[36];
    for (int64_t e = 0; e < 36; ++e) out[e] = v + (e * tiles + t) * c;
    input_tile<v8f>(d, out, 0, cv);
    input_tile<float>(d, out, cv, c);
  }
}

void output_transform(const ConvNhwcGeometry& g, const float* mm, int64_t ld, int64_t tiles_w, int64_t tiles,
                      int64_t t0, int64_t t1, const float* bias, bool relu, float* sink, float* out) {
  const int64_t oh = g.out_h(), ow = g.out_w(), n = g.out_c, nv = n / 8 * 8;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t y0 = 4 * (t / tiles_w), x0 = 4 * (t % tiles_w);
    const float* m[36];
    for (int64_t e = 0; e < 36; ++e) m[e] = mm + (e * tiles + t) * ld;
    float* y[4][4];  // outputs past the bottom/right edge go to a scratch row
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 4; ++j) y[i][j] = y0 + i < oh && x0 + j < ow ? out + ((y0 + i) * ow + x0 + j) * n : sink;
    output_tile<v8f>(m, bias, relu, y, 0, nv);
    output_tile<float>(m, bias, relu, y, nv, n);
  }
}

}  // namespace

void winograd_pack_weight(const float* weight, int64_t out_c, int64_t in_c, float* packed) {
  const int64_t ld = conv_packed_ld(out_c);
  std::fill(packed, packed + winograd_packed_size(out_c, in_c), 0.0f);
  // G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1].
  const auto g_1d = [](const float x[3], float u[6]) {
    u[0] = x[0] / 4.0f;
    u[1] = -(x[0] + x[1] + x[2]) / 6.0f;
    u[2] = -(x[0] - x[1] + x[2]) / 6.0f;
    u[3] = x[0] / 24.0f + x[1] / 12.0f + x[2] / 6.0f;
    u[4] = x[0] / 24.0f - x[1] / 12.0f + x[2] / 6.0f;
    u[5] = x[2];
  };
  for (int64_t o = 0; o < out_c; ++o)
    for (int64_t ci = 0; ci < in_c; ++ci) {
      const float* w = weight + (o * in_c + ci) * 9;
      float gw[6][3];  // G g, column by column
      for (int j = 0; j < 3; ++j) {
        const float col[3] = {w[j], w[3 + j], w[6 + j]};
        float u[6];
        g_1d(col, u);
        for (int i = 0; i < 6; ++i) gw[i][j] = u[i];
      }
      for (int i = 0; i < 6; ++i) {  // (G g) G^T, row by row
        float u[6];
        g_1d(gw[i], u);
        for (int j = 0; j < 6; ++j) packed[((i * 6 + j) * in_c + ci) * ld + o] = u[j];
      }
    }
}

void conv2d_nhwc_winograd3x3(const ConvNhwcGeometry& g, const float* in, const float* packed, const float* bias,
                             bool relu, float* out) {
  const int64_t oh = g.out_h(), ow = g.out_w();
  if (oh <= 0 || ow <= 0) return;
  const int64_t tiles_w = (ow + 3) / 4, tiles = (oh + 3) / 4 * tiles_w;
  const int64_t c = g.in_c, ld = conv_packed_ld(g.out_c);
  thread_local std::vector<float> v, mm, zeros;
  thread_local std::vector<const float*> rows;
  v.resize(static_cast<size_t>(36 * tiles * c));
  mm.resize(static_cast<size_t>(36 * tiles * ld));
  zeros.assign(static_cast<size_t>(c), 0.0f);
  rows.resize(static_cast<size_t>(36 * tiles));
  for (int64_t r = 0; r < 36 * tiles; ++r) rows[static_cast<size_t>(r)] = v.data() + r * c;
  float* vp = v.data();
  float* mp = mm.data();
  const float* zp = zeros.data();
  const float* const* rp = rows.data();
  // With few tiles the 36 GEMMs are split over the threads; each thread then transforms
  // its share of the output. Two parallel regions; the second needs every M.
  const int64_t seg0 = 0;
  input_transform(g, in, zp, tiles_w, tiles, 0, tiles, vp);
  const int64_t macs_per_element = tiles * c * g.out_c;
  const int64_t grain = std::max<int64_t>(1, 50000 / std::max<int64_t>(1, macs_per_element));
  parallel_for(0, 36, grain, [&](int64_t e0, int64_t e1) {
    for (int64_t e = e0; e < e1; ++e)
      row_gemm(tiles, rp + e * tiles, &seg0, 1, c, packed + e * c * ld, ld, g.out_c, nullptr, false,
               mp + e * tiles * ld, ld);
  });
  thread_local std::vector<float> sink;
  sink.resize(static_cast<size_t>(g.out_c));
  output_transform(g, mp, ld, tiles_w, tiles, 0, tiles, bias, relu, sink.data(), out);
}

}  // namespace forge::cpu
