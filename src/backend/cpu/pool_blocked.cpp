// Max pooling on nChw{B}c activations (see pool_blocked.h). The B channels of a position are
// contiguous, so each window step is one B-wide vector compare/select (the lane loops below
// vectorize); work is split over (image, channel block) pairs.
#include "backend/cpu/pool_blocked.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

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

// The lanes of a window whose first NaN wins: recomputed one by one (rare).
template <int B>
void nan_lanes_fixup(const Pool2dGeometry& g, const float* x, int64_t oh, int64_t ow, const int32_t* nan_lanes,
                     float* best, int32_t* where) {
  for (int l = 0; l < B; ++l) {
    if (nan_lanes[l] == 0) continue;
    bool found = false;
    for (int64_t kh = 0; kh < g.kernel_h && !found; ++kh) {
      for (int64_t kw = 0; kw < g.kernel_w && !found; ++kw) {
        const int64_t pos = (oh * g.stride_h + kh) * g.in_w + ow * g.stride_w + kw;
        if (std::isnan(x[pos * B + l])) {
          best[l] = x[pos * B + l];
          where[l] = static_cast<int32_t>(pos);
          found = true;
        }
      }
    }
  }
}

#if defined(__AVX2__)
// One 8-lane group of a block per AVX2 vector: compare, blend value and position.
template <int B>
void forward_block_avx2(const Pool2dGeometry& g, const float* x, float* out, int64_t* indices, int64_t out_plane) {
  alignas(32) float best[B];
  alignas(32) int32_t where[B], nan_lanes[B];
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      bool any_nan = false;
      for (int half = 0; half < B / 8; ++half) {
        __m256 vbest = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
        __m256i vwhere = _mm256_set1_epi32(static_cast<int32_t>(oh * g.stride_h * g.in_w + ow * g.stride_w));
        __m256 vnan = _mm256_setzero_ps();
        for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
          const int64_t row = (oh * g.stride_h + kh) * g.in_w + ow * g.stride_w;
          for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
            const __m256 v = _mm256_loadu_ps(x + (row + kw) * B + half * 8);
            const __m256 take = _mm256_cmp_ps(v, vbest, _CMP_GT_OQ);
            vbest = _mm256_blendv_ps(vbest, v, take);
            vwhere = _mm256_castps_si256(
                _mm256_blendv_ps(_mm256_castsi256_ps(vwhere),
                                 _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int32_t>(row + kw))), take));
            vnan = _mm256_or_ps(vnan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
          }
        }
        _mm256_store_ps(best + half * 8, vbest);
        _mm256_store_si256(reinterpret_cast<__m256i*>(where + half * 8), vwhere);
        _mm256_store_si256(reinterpret_cast<__m256i*>(nan_lanes + half * 8), _mm256_castps_si256(vnan));
        any_nan |= _mm256_movemask_ps(vnan) != 0;
      }
      if (any_nan) nan_lanes_fixup<B>(g, x, oh, ow, nan_lanes, best, where);
      const int64_t o = oh * g.out_w + ow;
      for (int l = 0; l < B; ++l) {
        out[l * out_plane + o] = best[l];
        indices[l * out_plane + o] = where[l];
      }
    }
  }
}
#endif

template <int B>
void forward_block(const Pool2dGeometry& g, const float* x, float* out, int64_t* indices, int64_t out_plane) {
#if defined(__AVX2__)
  return forward_block_avx2<B>(g, x, out, indices, out_plane);
#endif
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      float best[B];
      int32_t where[B];
      int32_t nan_lanes[B];
      const int32_t first = static_cast<int32_t>(oh * g.stride_h * g.in_w + ow * g.stride_w);
      for (int l = 0; l < B; ++l) {
        best[l] = -std::numeric_limits<float>::infinity();
        where[l] = first;
        nan_lanes[l] = 0;
      }
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const int64_t h = oh * g.stride_h + kh;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
          const int32_t pos = static_cast<int32_t>(h * g.in_w + ow * g.stride_w + kw);
          const float* v = x + static_cast<int64_t>(pos) * B;
          for (int l = 0; l < B; ++l) {  // branch-free selects, one vector per window step
            const bool take = v[l] > best[l];
            best[l] = take ? v[l] : best[l];
            where[l] = take ? pos : where[l];
            nan_lanes[l] |= v[l] != v[l] ? 1 : 0;
          }
        }
      }
      int32_t any_nan = 0;
      for (int l = 0; l < B; ++l) any_nan |= nan_lanes[l];
      if (any_nan != 0) nan_lanes_fixup<B>(g, x, oh, ow, nan_lanes, best, where);
      const int64_t o = oh * g.out_w + ow;
      for (int l = 0; l < B; ++l) {
        out[l * out_plane + o] = best[l];
        indices[l * out_plane + o] = where[l];
      }
    }
  }
}

// Windows that tile the input without overlap (kernel == stride): every position of a window
// is written once (the gradient at its argmax where y > 0, else 0); positions no window covers
// are zeroed. No separate clearing pass over the (large) gradient.
template <int B>
void backward_block_tiled(const Pool2dGeometry& g, const float* go, const int64_t* idx, const float* y, float* d,
                          int64_t out_plane) {
  alignas(32) float grad[B];
  alignas(32) int32_t at[B];
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const int64_t o = oh * g.out_w + ow;
      for (int l = 0; l < B; ++l) {
        grad[l] = go[l * out_plane + o];
        at[l] = static_cast<int32_t>(idx[l * out_plane + o]);
      }
      for (int64_t kh = 0; kh < g.kernel_h; ++kh) {
        const int64_t h = oh * g.stride_h + kh;
        for (int64_t kw = 0; kw < g.kernel_w; ++kw) {
          const int64_t pos = h * g.in_w + ow * g.stride_w + kw;
          const float* yv = y + pos * B;
          float* dv = d + pos * B;
#if defined(__AVX2__)
          const __m256i vpos = _mm256_set1_epi32(static_cast<int32_t>(pos));
          for (int half = 0; half < B / 8; ++half) {
            const __m256 hit =
                _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(
                                  _mm256_load_si256(reinterpret_cast<const __m256i*>(at + half * 8)), vpos)),
                              _mm256_cmp_ps(_mm256_loadu_ps(yv + half * 8), _mm256_setzero_ps(), _CMP_GT_OQ));
            _mm256_storeu_ps(dv + half * 8, _mm256_and_ps(hit, _mm256_load_ps(grad + half * 8)));
          }
#else
          for (int l = 0; l < B; ++l) dv[l] = (at[l] == pos && yv[l] > 0.0f) ? grad[l] : 0.0f;
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
void backward_block_any(const Pool2dGeometry& g, const float* go, const int64_t* idx, const float* y, float* d,
                        int64_t out_plane) {
  std::memset(d, 0, sizeof(float) * static_cast<size_t>(g.in_h * g.in_w * B));
  for (int64_t o = 0; o < out_plane; ++o) {
    for (int l = 0; l < B; ++l) {
      const int64_t pos = idx[l * out_plane + o];
      if (y[pos * B + l] > 0.0f) d[pos * B + l] += go[l * out_plane + o];
    }
  }
}

template <int B>
void forward_all(const Pool2dGeometry& g, int64_t channels, const float* in, float* out, int64_t* indices) {
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  for_blocks(g, channels, B, [&](int64_t n, int64_t cb) {
    const float* x = in + (n * (channels / B) + cb) * in_plane * B;
    const int64_t plain = (n * channels + cb * B) * out_plane;
    forward_block<B>(g, x, out + plain, indices + plain, out_plane);
  });
}

template <int B>
void backward_all(const Pool2dGeometry& g, int64_t channels, const float* grad_out, const int64_t* indices,
                  const float* y, float* diff_in) {
  const int64_t in_plane = g.in_h * g.in_w, out_plane = g.out_h * g.out_w;
  const bool tiled = g.kernel_h == g.stride_h && g.kernel_w == g.stride_w;
  for_blocks(g, channels, B, [&](int64_t n, int64_t cb) {
    const int64_t blocked = (n * (channels / B) + cb) * in_plane * B;
    const int64_t plain = (n * channels + cb * B) * out_plane;
    if (tiled) {
      backward_block_tiled<B>(g, grad_out + plain, indices + plain, y + blocked, diff_in + blocked, out_plane);
    } else {
      backward_block_any<B>(g, grad_out + plain, indices + plain, y + blocked, diff_in + blocked, out_plane);
    }
  });
}

void check(const Pool2dGeometry& g, int64_t channels, int64_t block) {
  FORGE_CHECK((block == 8 || block == 16) && channels % block == 0 && g.planes % channels == 0,
              "[max_pool2d_blocked] unsupported layout: {} channels in blocks of {}", channels, block);
  FORGE_CHECK(g.pad_top == 0 && g.pad_left == 0 && (g.out_h - 1) * g.stride_h + g.kernel_h <= g.in_h &&
                  (g.out_w - 1) * g.stride_w + g.kernel_w <= g.in_w,
              "[max_pool2d_blocked] windows must lie inside the input");
}

}  // namespace

void max_pool2d_blocked_forward(const Pool2dGeometry& g, int64_t channels, int64_t block, const float* in, float* out,
                                int64_t* indices) {
  check(g, channels, block);
  if (block == 8) return forward_all<8>(g, channels, in, out, indices);
  forward_all<16>(g, channels, in, out, indices);
}

void max_pool2d_blocked_backward_relu(const Pool2dGeometry& g, int64_t channels, int64_t block, const float* grad_out,
                                      const int64_t* indices, const float* y, float* diff_in) {
  check(g, channels, block);
  if (block == 8) return backward_all<8>(g, channels, grad_out, indices, y, diff_in);
  backward_all<16>(g, channels, grad_out, indices, y, diff_in);
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
