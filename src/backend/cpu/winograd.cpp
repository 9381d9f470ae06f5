#include "backend/cpu/winograd.h"

#include <algorithm>
#include <vector>

#include "core/parallel.h"

namespace forge::cpu {

namespace {

// Input transform of the tiles [t0, t1): V[e][t][ci] = (B^T d B)[e] with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
// Positions outside the input read a zero row. The loops over channels vectorize.
void input_transform(const ConvNhwcGeometry& g, const float* in, const float* zeros, int64_t tiles_w, int64_t tiles,
                     int64_t t0, int64_t t1, float* v) {
  const int64_t c = g.in_c;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t y0 = 2 * (t / tiles_w), x0 = 2 * (t % tiles_w);
    const float* d[4][4];
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 4; ++j)
        d[i][j] = y0 + i < g.in_h && x0 + j < g.in_w ? in + ((y0 + i) * g.in_w + x0 + j) * c : zeros;
    float* out[16];
    for (int64_t e = 0; e < 16; ++e) out[e] = v + (e * tiles + t) * c;
    for (int64_t k = 0; k < c; ++k) {
      float r[4][4];  // B^T d: row combinations
      for (int64_t j = 0; j < 4; ++j) {
        r[0][j] = d[0][j][k] - d[2][j][k];
        r[1][j] = d[1][j][k] + d[2][j][k];
        r[2][j] = d[2][j][k] - d[1][j][k];
        r[3][j] = d[1][j][k] - d[3][j][k];
      }
      for (int64_t i = 0; i < 4; ++i) {  // (B^T d) B: column combinations
        out[i * 4 + 0][k] = r[i][0] - r[i][2];
        out[i * 4 + 1][k] = r[i][1] + r[i][2];
        out[i * 4 + 2][k] = r[i][2] - r[i][1];
        out[i * 4 + 3][k] = r[i][1] - r[i][3];
      }
    }
  }
}

// Output transform of the tiles [t0, t1): Y = A^T M A (+ bias, relu) with
//   A^T = [1 1 1 0; 0 1 -1 -1];
// outputs past the bottom/right edge (odd sizes) go to a scratch row.
void output_transform(const ConvNhwcGeometry& g, const float* mm, int64_t ld, int64_t tiles_w, int64_t tiles, int64_t t0,
                      int64_t t1, const float* bias, bool relu, float* sink, float* out) {
  const int64_t oh = g.out_h(), ow = g.out_w(), n = g.out_c;
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t y0 = 2 * (t / tiles_w), x0 = 2 * (t % tiles_w);
    const float* m[16];
    for (int64_t e = 0; e < 16; ++e) m[e] = mm + (e * tiles + t) * ld;
    float* y[2][2];
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t j = 0; j < 2; ++j) y[i][j] = y0 + i < oh && x0 + j < ow ? out + ((y0 + i) * ow + x0 + j) * n : sink;
    for (int64_t k = 0; k < n; ++k) {
      float s[2][4];  // A^T M
      for (int64_t j = 0; j < 4; ++j) {
        s[0][j] = m[j][k] + m[4 + j][k] + m[8 + j][k];
        s[1][j] = m[4 + j][k] - m[8 + j][k] - m[12 + j][k];
      }
      const float b = bias != nullptr ? bias[k] : 0.0f;
      for (int64_t i = 0; i < 2; ++i) {
        const float a = s[i][0] + s[i][1] + s[i][2] + b;
        const float c = s[i][1] - s[i][2] - s[i][3] + b;
        y[i][0][k] = relu ? (a > 0.0f ? a : 0.0f) : a;
        y[i][1][k] = relu ? (c > 0.0f ? c : 0.0f) : c;
      }
    }
  }
}

}  // namespace

void winograd_pack_weight(const float* weight, int64_t out_c, int64_t in_c, float* packed) {
  const int64_t ld = conv_packed_ld(out_c);
  std::fill(packed, packed + winograd_packed_size(out_c, in_c), 0.0f);
  for (int64_t o = 0; o < out_c; ++o)
    for (int64_t ci = 0; ci < in_c; ++ci) {
      const float* w = weight + (o * in_c + ci) * 9;
      float gw[4][3];  // G g with G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
      for (int64_t j = 0; j < 3; ++j) {
        gw[0][j] = w[j];
        gw[1][j] = 0.5f * (w[j] + w[3 + j] + w[6 + j]);
        gw[2][j] = 0.5f * (w[j] - w[3 + j] + w[6 + j]);
        gw[3][j] = w[6 + j];
      }
      for (int64_t i = 0; i < 4; ++i) {  // (G g) G^T
        const float u[4] = {gw[i][0], 0.5f * (gw[i][0] + gw[i][1] + gw[i][2]), 0.5f * (gw[i][0] - gw[i][1] + gw[i][2]),
                            gw[i][2]};
        for (int64_t j = 0; j < 4; ++j) packed[((i * 4 + j) * in_c + ci) * ld + o] = u[j];
      }
    }
}

void conv2d_nhwc_winograd3x3(const ConvNhwcGeometry& g, const float* in, const float* packed, const float* bias,
                             bool relu, float* out) {
  const int64_t oh = g.out_h(), ow = g.out_w();
  if (oh <= 0 || ow <= 0) return;
  const int64_t tiles_w = (ow + 1) / 2, tiles = (oh + 1) / 2 * tiles_w;
  const int64_t c = g.in_c, ld = conv_packed_ld(g.out_c);
  thread_local std::vector<float> v, mm, zeros;
  thread_local std::vector<const float*> rows;
  v.resize(static_cast<size_t>(16 * tiles * c));
  mm.resize(static_cast<size_t>(16 * tiles * ld));
  zeros.assign(static_cast<size_t>(std::max(c, ld)), 0.0f);
  rows.resize(static_cast<size_t>(16 * tiles));
  for (int64_t r = 0; r < 16 * tiles; ++r) rows[static_cast<size_t>(r)] = v.data() + r * c;
  float* vp = v.data();
  float* mp = mm.data();
  const float* zp = zeros.data();
  const float* const* rp = rows.data();
  // Each thread runs the whole pipeline on its own tiles: one parallel region, no barrier.
  const int64_t macs_per_tile = 16 * c * g.out_c;
  const int64_t grain = std::max<int64_t>(6, 150000 / std::max<int64_t>(1, macs_per_tile));
  parallel_for(0, tiles, grain, [&](int64_t t0, int64_t t1) {
    thread_local std::vector<float> sink;
    sink.resize(static_cast<size_t>(g.out_c));
    input_transform(g, in, zp, tiles_w, tiles, t0, t1, vp);
    const int64_t seg0 = 0;
    for (int64_t e = 0; e < 16; ++e)
      row_gemm(t1 - t0, rp + e * tiles + t0, &seg0, 1, c, packed + e * c * ld, ld, g.out_c, nullptr, false,
               mp + (e * tiles + t0) * ld, ld);
    output_transform(g, mp, ld, tiles_w, tiles, t0, t1, bias, relu, sink.data(), out);
  });
}

}  // namespace forge::cpu
