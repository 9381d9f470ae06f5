// Max pooling on nChw{B}c activations (see pool_blocked.h). The B channels of a position are
// contiguous, so each window step is one compare/select per 8 lanes (AVX2); work is split over
// (image, channel block) pairs. The pass is memory-bound (the conv output is read once, the
// gradient written once), so maxima positions are bytes and the backward reads no activation.
#include "backend/cpu/pool_blocked.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"

namespace forge::cpu {

namespace {

// Runs fn(n, cb) over every (image, channel block), in parallel.
template <typename F>
void for_blocks(const Pool2dGeometry& g, int64_t channels, int64_t block, F&& fn) {
  const int64_t blocks = channels / block;
  const int64_t total = g.planes / channels * blocks;
  const int64_t work = std::max<int64_t>(1, g.in_h * g.in_w * block);
  parallel_for(0, total, std::max<int64_t>(1, 32768 / work), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) fn(i / blocks, i % blocks);
  });
}

// Window maxima of one row of outputs of one block, lane-major in `best` / `at` ([ow][B]).
// Returns whether any window saw a NaN (then fix_nan_lanes runs).
template <int B>
bool row_maxima(const Pool2dGeometry& g, const float* x, int64_t oh, float* best, int32_t* at, uint8_t* wrow) {
#if defined(__AVX2__)
  // Byte 0 of each 32-bit lane, per 128-bit half (then the halves are joined).
  const __m256i low_bytes = _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,  //
                                             0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
  const __m256i no_gradient = _mm256_set1_epi32(kNoGradient);
  __m256 vnan = _mm256_setzero_ps();
  for (int64_t ow = 0; ow < g.out_w; ++ow) {
    for (int half = 0; half < B / 8; ++half) {
      __m256 vbest = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
      __m256i vat = _mm256_setzero_si256();
      int32_t k = 0;
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const float* row = x + ((oh * g.stride_h + kh) * g.in_w + ow * g.stride_w) * B + half * 8;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw, ++k) {
          const __m256 v = _mm256_loadu_ps(row + kw * B);
          const __m256 take = _mm256_cmp_ps(v, vbest, _CMP_GT_OQ);
          vbest = _mm256_blendv_ps(vbest, v, take);
          vat = _mm256_blendv_epi8(vat, _mm256_set1_epi32(k), _mm256_castps_si256(take));
          vnan = _mm256_or_ps(vnan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
        }
      }
      _mm256_storeu_ps(best + ow * B + half * 8, vbest);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(at + ow * B + half * 8), vat);
      const __m256i not_positive =
          _mm256_castps_si256(_mm256_cmp_ps(vbest, _mm256_setzero_ps(), _CMP_NGT_UQ));  // <= 0 or NaN
      const __m256i code =
          _mm256_shuffle_epi8(_mm256_or_si256(vat, _mm256_and_si256(not_positive, no_gradient)), low_bytes);
      _mm_storel_epi64(reinterpret_cast<__m128i*>(wrow + ow * B + half * 8),
                       _mm_unpacklo_epi32(_mm256_castsi256_si128(code), _mm256_extracti128_si256(code, 1)));
    }
  }
  return _mm256_movemask_ps(vnan) != 0;
#else
  bool any_nan = false;
  for (int64_t ow = 0; ow < g.out_w; ++ow) {
    float* b = best + ow * B;
    int32_t* a = at + ow * B;
    for (int l = 0; l < B; ++l) {
      b[l] = -std::numeric_limits<float>::infinity();
      a[l] = 0;
    }
    int32_t k = 0;
    for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const float* row = x + ((oh * g.stride_h + kh) * g.in_w + ow * g.stride_w) * B;
      for (int64_t kw = 0; kw < g.kernel_w; ++kw, ++k) {
        for (int l = 0; l < B; ++l) {
          const float v = row[kw * B + l];
          const bool take = v > b[l];
          b[l] = take ? v : b[l];
          a[l] = take ? k : a[l];
          any_nan |= v != v;
        }
      }
    }
  }
  for (int64_t i = 0; i < g.out_w * B; ++i) wrow[i] = static_cast<uint8_t>(at[i] | (best[i] > 0.0f ? 0 : kNoGradient));
  return any_nan;
#endif
}

// Rare: in windows that saw a NaN, the window's first NaN wins.
template <int B>
void fix_nan_lanes(const Pool2dGeometry& g, const float* x, int64_t oh, float* best, int32_t* at, uint8_t* wrow) {
  for (int64_t ow = 0; ow < g.out_w; ++ow) {
    for (int l = 0; l < B; ++l) {
      int32_t k = 0;
      bool found = false;
      for (int64_t kh = 0; kh < g.kernel_h && !found; ++kh) {
        for (int64_t kw = 0; kw < g.kernel_w && !found; ++kw, ++k) {
          const float v = x[((oh * g.stride_h + kh) * g.in_w + ow * g.stride_w + kw) * B + l];
          if (std::isnan(v)) {
            best[ow * B + l] = v;
            at[ow * B + l] = k;
            wrow[ow * B + l] = static_cast<uint8_t>(k | kNoGradient);
            found = true;
          }
        }
      }
    }
  }
}

template <int B>
void forward_all(const Pool2dGeometry& g, int64_t channels, const float* in, float* out, uint8_t* where) {
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for_blocks(g, channels, B, [&](int64_t n, int64_t cb) {
    thread_local std::vector<float> best_row;
    thread_local std::vector<int32_t> at_row;
    best_row.resize(static_cast<size_t>(g.out_w * B));
    at_row.resize(static_cast<size_t>(g.out_w * B));
    float* const best = best_row.data();
    int32_t* const at = at_row.data();
    const int64_t blk = n * (channels / B) + cb;
    const float* x = in + blk * in_plane * B;
    float* y = out + (n * channels + cb * B) * out_plane;
    uint8_t* w = where + blk * out_plane * B;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      uint8_t* wrow = w + oh * g.out_w * B;
      if (row_maxima<B>(g, x, oh, best, at, wrow)) fix_nan_lanes<B>(g, x, oh, best, at, wrow);
      // Transposed out of the row buffer: each output plane's row is written contiguously.
      for (int l = 0; l < B; ++l) {
        float* dst = y + l * out_plane + oh * g.out_w;
        for (int64_t ow = 0; ow < g.out_w; ++ow) dst[ow] = best[ow * B + l];
      }
    }
  });
}

// Windows that tile the input without overlap (kernel == stride): every position of a window
// is written once (the gradient at its maximum, else 0) and the positions no window covers are
// zeroed, so the gradient needs no clearing pass of its own.
template <int B>
void backward_tiled(const Pool2dGeometry& g, const float* go, const uint8_t* w, float* d, int64_t out_plane) {
  float grad[B];
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const int64_t o = oh * g.out_w + ow;
      for (int l = 0; l < B; ++l) grad[l] = go[l * out_plane + o];
      const uint8_t* at = w + o * B;
      int32_t k = 0;
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        float* row = d + ((oh * g.stride_h + kh) * g.in_w + ow * g.stride_w) * B;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw, ++k) {
#if defined(__AVX2__)
          const __m256i vk = _mm256_set1_epi32(k);
          for (int half = 0; half < B / 8; ++half) {
            const __m256i pos = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(at + half * 8)));
            const __m256 hit = _mm256_castsi256_ps(_mm256_cmpeq_epi32(pos, vk));
            _mm256_storeu_ps(row + kw * B + half * 8, _mm256_and_ps(hit, _mm256_loadu_ps(grad + half * 8)));
          }
#else
          for (int l = 0; l < B; ++l) row[kw * B + l] = at[l] == k ? grad[l] : 0.0f;
#endif
        }
      }
    }
  }
  const int64_t covered_h = g.out_h * g.stride_h, covered_w = g.out_w * g.stride_w;
  for (int64_t h = 0; h < g.in_h; ++h) {
    if (h >= covered_h) {
      std::memset(d + h * g.in_w * B, 0, sizeof(float) * static_cast<size_t>(g.in_w * B));
    } else if (covered_w < g.in_w) {
      std::memset(d + (h * g.in_w + covered_w) * B, 0, sizeof(float) * static_cast<size_t>((g.in_w - covered_w) * B));
    }
  }
}

template <int B>
void backward_overlapping(const Pool2dGeometry& g, const float* go, const uint8_t* w, float* d, int64_t out_plane) {
  std::memset(d, 0, sizeof(float) * static_cast<size_t>(g.in_h * g.in_w * B));
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const int64_t o = oh * g.out_w + ow;
      for (int l = 0; l < B; ++l) {
        const uint8_t at = w[o * B + l];
        if ((at & kNoGradient) != 0) continue;
        const int64_t h = oh * g.stride_h + at / g.kernel_w, x = ow * g.stride_w + at % g.kernel_w;
        d[(h * g.in_w + x) * B + l] += go[l * out_plane + o];
      }
    }
  }
}

template <int B>
void backward_all(const Pool2dGeometry& g, int64_t channels, const float* grad_out, const uint8_t* where,
                  float* diff_in) {
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const bool tiled = g.kernel_h == g.stride_h && g.kernel_w == g.stride_w;
  for_blocks(g, channels, B, [&](int64_t n, int64_t cb) {
    const int64_t blk = n * (channels / B) + cb;
    const float* go = grad_out + (n * channels + cb * B) * out_plane;
    if (tiled) {
      backward_tiled<B>(g, go, where + blk * out_plane * B, diff_in + blk * in_plane * B, out_plane);
    } else {
      backward_overlapping<B>(g, go, where + blk * out_plane * B, diff_in + blk * in_plane * B, out_plane);
    }
  });
}

void check(const Pool2dGeometry& g, int64_t channels, int64_t block) {
  FORGE_CHECK((block == 8 || block == 16) && channels % block == 0 && g.planes % channels == 0,
              "[max_pool2d_blocked] unsupported layout: {} channels in blocks of {}", channels, block);
  FORGE_CHECK(g.pad_top == 0 && g.pad_left == 0 && g.kernel_h * g.kernel_w <= kNoGradient &&
                  (g.out_h - 1) * g.stride_h + g.kernel_h <= g.in_h &&
                  (g.out_w - 1) * g.stride_w + g.kernel_w <= g.in_w,
              "[max_pool2d_blocked] windows must lie inside the input and hold at most 128 positions");
}

}  // namespace

void max_pool2d_blocked_forward(const Pool2dGeometry& g, int64_t channels, int64_t block, const float* in, float* out,
                                uint8_t* where) {
  check(g, channels, block);
  if (block == 8) return forward_all<8>(g, channels, in, out, where);
  forward_all<16>(g, channels, in, out, where);
}

void max_pool2d_blocked_backward_relu(const Pool2dGeometry& g, int64_t channels, int64_t block, const float* grad_out,
                                      const uint8_t* where, float* diff_in) {
  check(g, channels, block);
  if (block == 8) return backward_all<8>(g, channels, grad_out, where, diff_in);
  backward_all<16>(g, channels, grad_out, where, diff_in);
}

void blocked_window_to_plane_indices(const Pool2dGeometry& g, int64_t channels, int64_t block, const uint8_t* where,
                                     int64_t* indices) {
  check(g, channels, block);
  const int64_t out_plane = g.out_h * g.out_w;
  for (int64_t p = 0; p < g.planes; ++p) {
    const int64_t n = p / channels, c = p % channels;
    const uint8_t* w = where + (n * (channels / block) + c / block) * out_plane * block + c % block;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const int64_t at = w[(oh * g.out_w + ow) * block] & (kNoGradient - 1);
        indices[p * out_plane + oh * g.out_w + ow] =
            (oh * g.stride_h + at / g.kernel_w) * g.in_w + ow * g.stride_w + at % g.kernel_w;
      }
    }
  }
}

void blocked_to_plain(int64_t batch, int64_t channels, int64_t plane, int64_t block, const float* in, float* out) {
  const int64_t blocks = channels / block;
  parallel_for(0, batch * blocks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t n = i / blocks, cb = i % blocks;
      const float* x = in + i * plane * block;
      float* o = out + (n * channels + cb * block) * plane;
      for (int64_t p = 0; p < plane; ++p) {
        for (int64_t l = 0; l < block; ++l) o[l * plane + p] = x[p * block + l];
      }
    }
  });
}

}  // namespace forge::cpu
