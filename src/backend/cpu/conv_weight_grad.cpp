// Weight gradient for convolutions with few input taps (see conv_weight_grad.h).
//
//   dW[o][t] = sum_n sum_(oh,ow) dy[n][o][oh][ow] * x[n][c_t][oh*sh + kh_t*dh - pt][ow*sw + kw_t*dw - pl]
//
// Work is split over 8-channel groups of outputs (no reduction across threads). Within a group
// each image's sums are accumulated in registers (T taps + the bias) and added to the totals
// per image, which keeps the fp32 sums short. Padding is handled with a zero-padded copy of the
// image (few channels, so cheap).
#include "backend/cpu/conv_weight_grad.h"

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "core/parallel.h"

namespace forge::cpu {

namespace {

constexpr int kMaxTaps = 12;

bool cpu_has_avx2_fma() {
  static const bool ok = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return ok;
}

}  // namespace

bool conv2d_weight_grad_small_supported(const Conv2dGeometry& g) {
#if defined(__AVX2__) && defined(__FMA__)
  return g.bf16 == 0 && g.groups == 1 && (g.dst_block == 8 || g.dst_block == 16) && g.out_channels % g.dst_block == 0 &&
         g.in_channels * g.kernel_h * g.kernel_w <= kMaxTaps && g.batch > 0 && g.out_h > 0 && g.out_w > 0 &&
         cpu_has_avx2_fma();
#else
  (void)g;
  return false;
#endif
}

#if defined(__AVX2__) && defined(__FMA__)
namespace {

// Sums one 8-channel group over one (padded) image into acc[T + 1] (the last is the bias).
template <int T>
void image_sums(const Conv2dGeometry& g, const float* xp, int64_t ph, int64_t pw, const int64_t* tap_off,
                const float* dy, int64_t dy_step, float* out) {
  __m256 acc[T + 1];
  for (int t = 0; t <= T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    const float* xrow = xp + oh * g.stride_h * pw;
    const float* dyrow = dy + oh * g.out_w * dy_step;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const __m256 d = _mm256_loadu_ps(dyrow + ow * dy_step);
      const float* xs = xrow + ow * g.stride_w;
      for (int t = 0; t < T; ++t) acc[t] = _mm256_fmadd_ps(d, _mm256_broadcast_ss(xs + tap_off[t]), acc[t]);
      acc[T] = _mm256_add_ps(acc[T], d);
    }
  }
  (void)ph;
  for (int t = 0; t <= T; ++t) _mm256_store_ps(out + 8 * t, _mm256_add_ps(_mm256_load_ps(out + 8 * t), acc[t]));
}

// out: (T + 1) x 8 floats, 32-byte aligned; the sums are added to it.
using ImageSums = void (*)(const Conv2dGeometry&, const float*, int64_t, int64_t, const int64_t*, const float*, int64_t,
                           float*);

template <int... Ts>
constexpr std::array<ImageSums, sizeof...(Ts)> make_table(std::integer_sequence<int, Ts...>) {
  return {&image_sums<Ts + 1>...};
}

}  // namespace
#endif

void conv2d_weight_grad_small(const Conv2dGeometry& g, const float* src, const float* diff_dst, float* diff_weight,
                              float* diff_bias) {
#if defined(__AVX2__) && defined(__FMA__)
  const int64_t taps = g.in_channels * g.kernel_h * g.kernel_w;
  const int64_t block = g.dst_block;
  const int64_t ph = g.in_h + g.pad_top + g.pad_bottom, pw = g.in_w + g.pad_left + g.pad_right;
  const bool padded = ph != g.in_h || pw != g.in_w;
  // Offsets of each tap (c, kh, kw) in a padded image [C][ph][pw].
  std::array<int64_t, kMaxTaps> tap_off{};
  for (int64_t c = 0, t = 0; c < g.in_channels; ++c) {
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w; ++kw) tap_off[t++] = (c * ph + kh * g.dilation_h) * pw + kw * g.dilation_w;
    }
  }
  // Zero-padded copies of the images (only when the convolution pads).
  std::vector<float> padded_src;
  if (padded) {
    padded_src.assign(static_cast<size_t>(g.batch * g.in_channels * ph * pw), 0.0f);
    for (int64_t i = 0; i < g.batch * g.in_channels; ++i) {
      for (int64_t h = 0; h < g.in_h; ++h) {
        std::memcpy(padded_src.data() + (i * ph + h + g.pad_top) * pw + g.pad_left, src + (i * g.in_h + h) * g.in_w,
                    sizeof(float) * static_cast<size_t>(g.in_w));
      }
    }
  }
  const float* x = padded ? padded_src.data() : src;
  static constexpr auto kTable = make_table(std::make_integer_sequence<int, kMaxTaps>{});
  const ImageSums sums = kTable[static_cast<size_t>(taps - 1)];
  const int64_t groups8 = g.out_channels / 8;
  const int64_t dst_plane = g.out_h * g.out_w;
  parallel_for(0, groups8, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t q = lo; q < hi; ++q) {
      const int64_t cb = q * 8 / block, lane0 = q * 8 % block;  // this group's block and first lane
      alignas(32) float total[(kMaxTaps + 1) * 8] = {};
      for (int64_t n = 0; n < g.batch; ++n) {
        const float* dy = diff_dst + ((n * (g.out_channels / block) + cb) * dst_plane) * block + lane0;
        sums(g, x + n * g.in_channels * ph * pw, ph, pw, tap_off.data(), dy, block, total);
      }
      for (int64_t t = 0; t < taps; ++t) {
        for (int l = 0; l < 8; ++l) diff_weight[(q * 8 + l) * taps + t] = total[t * 8 + l];
      }
      if (diff_bias != nullptr) std::memcpy(diff_bias + q * 8, total + taps * 8, sizeof(float) * 8);
    }
  });
#else
  (void)g, (void)src, (void)diff_dst, (void)diff_weight, (void)diff_bias;
#endif
}

}  // namespace forge::cpu
