#include "backend/cpu/pool.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"

namespace forge::cpu {

namespace {

// Window [begin, end) of output position o along one axis, clipped to the input.
struct Span {
  int64_t begin, end;
};
inline Span window(int64_t o, int64_t stride, int64_t pad, int64_t kernel, int64_t in) {
  const int64_t start = o * stride - pad;
  return {std::max<int64_t>(start, 0), std::min<int64_t>(start + kernel, in)};
}

template <typename F>
void for_planes(const Pool2dGeometry& g, F&& fn) {
  const int64_t work = std::max<int64_t>(1, g.in_h * g.in_w);
  parallel_for(0, g.planes, std::max<int64_t>(1, 16384 / work), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) fn(p);
  });
}

}  // namespace

namespace {

// Output rows [oh_begin, oh_end) of one plane, any window.
void max_pool_rows(const Pool2dGeometry& g, const float* x, float* y, int64_t* idx, int64_t oh_begin, int64_t oh_end) {
  for (int64_t oh = oh_begin; oh < oh_end; ++oh) {
    const Span sh = window(oh, g.stride_h, g.pad_top, g.kernel_h, g.in_h);
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      const Span sw = window(ow, g.stride_w, g.pad_left, g.kernel_w, g.in_w);
      float best = -std::numeric_limits<float>::infinity();
      int64_t best_index = sh.begin * g.in_w + sw.begin;
      bool any_nan = false;
      // Branch-free selects: on real data `v > best` is a coin flip the CPU cannot predict.
      for (int64_t h = sh.begin; h < sh.end; ++h) {
        const float* row = x + h * g.in_w;
        for (int64_t w = sw.begin; w < sw.end; ++w) {
          const float v = row[w];
          const bool take = v > best;
          best = take ? v : best;
          best_index = take ? h * g.in_w + w : best_index;
          any_nan |= v != v;
        }
      }
      if (any_nan) {  // rare: the window's first NaN wins (NaN propagates, like PyTorch)
        for (int64_t h = sh.begin, found = 0; h < sh.end && !found; ++h) {
          for (int64_t w = sw.begin; w < sw.end; ++w) {
            if (std::isnan(x[h * g.in_w + w])) {
              best = x[h * g.in_w + w];
              best_index = h * g.in_w + w;
              found = 1;
              break;
            }
          }
        }
      }
      y[oh * g.out_w + ow] = best;
      idx[oh * g.out_w + ow] = best_index;
    }
  }
}

// The common 2x2 / stride 2 / no padding window (every window lies inside the input), one output
// row at a time with compare-selects the compiler turns into blends (no branches to mispredict).
// Ties keep the first maximum in window order (h, w) like the generic loop. A row holding a NaN is
// redone by `generic_row` so that the window's first NaN wins there too.
#if defined(__AVX2__)
// Outputs ow0 .. ow0 + m - 1 (m <= 8) of a 2x2 row pair: r0/r1 point at input column w = 2 * ow0
// and hold 2 * m readable inputs. Masked loads/stores for m < 8 (a masked-off lane never faults).
// Returns true when any input is NaN (the caller redoes the row with the generic loop).
inline bool max_pool_2x2_x8(const float* r0, const float* r1, int32_t base, int32_t in_w, float* yo, int64_t* io,
                            int m = 8) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i in_lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * m), lane);
  const __m256i in_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * m - 8), lane);
  auto evens_odds = [&](const float* p, __m256& even, __m256& odd) {
    const __m256 lo = m == 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, in_lo);
    const __m256 hi = m == 8 ? _mm256_loadu_ps(p + 8) : _mm256_maskload_ps(p + 8, in_hi);
    // shuffle gives [0 2 8 10 | 4 6 12 14]; the 64-bit permute restores column order.
    even = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0x88)), 0xD8));
    odd = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(_mm256_shuffle_ps(lo, hi, 0xDD)), 0xD8));
  };
  __m256 a, b, c, d;
  evens_odds(r0, a, b);
  evens_odds(r1, c, d);
  const __m256 nan = _mm256_or_ps(_mm256_cmp_ps(a, b, _CMP_UNORD_Q), _mm256_cmp_ps(c, d, _CMP_UNORD_Q));
  const __m256 tb = _mm256_cmp_ps(b, a, _CMP_GT_OQ), tt = _mm256_cmp_ps(d, c, _CMP_GT_OQ);
  const __m256 top = _mm256_blendv_ps(a, b, tb), bottom = _mm256_blendv_ps(c, d, tt);
  const __m256 lower = _mm256_cmp_ps(bottom, top, _CMP_GT_OQ);
  const __m256 best = _mm256_blendv_ps(top, bottom, lower);
  // index = base + 2 * lane + (lower ? in_w + tt : tb), with the masks' -1 turned into +1.
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i pick_top = _mm256_and_si256(_mm256_castps_si256(tb), one);
  const __m256i pick_bottom = _mm256_add_epi32(_mm256_set1_epi32(in_w), _mm256_and_si256(_mm256_castps_si256(tt), one));
  const __m256i offset = _mm256_castps_si256(
      _mm256_blendv_ps(_mm256_castsi256_ps(pick_top), _mm256_castsi256_ps(pick_bottom), lower));
  const __m256i index = _mm256_add_epi32(_mm256_add_epi32(_mm256_set1_epi32(base), _mm256_add_epi32(lane, lane)), offset);
  const __m256i index_lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(index));
  const __m256i index_hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(index, 1));
  auto* io_lo = reinterpret_cast<long long*>(io);
  if (m == 8) {
    _mm256_storeu_ps(yo, best);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(io_lo), index_lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(io_lo + 4), index_hi);
    return _mm256_movemask_ps(nan) != 0;
  }
  const __m256i out = _mm256_cmpgt_epi32(_mm256_set1_epi32(m), lane);
  _mm256_maskstore_ps(yo, out, best);
  _mm256_maskstore_epi64(io_lo, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(out)), index_lo);
  _mm256_maskstore_epi64(io_lo + 4, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(out, 1)), index_hi);
  return (_mm256_movemask_ps(nan) & ((1 << m) - 1)) != 0;
}
#endif

#if defined(__AVX2__)
// One output row of 1 x kw windows with stride sw, every window inside the input (1-D pooling,
// e.g. the text CNN's MaxPooling1D(7)): eight outputs per step, each window position gathered
// across the eight windows, blends keep the first maximum. `row_offset` is the row's first index
// in the plane. Returns true when a NaN was seen (the caller redoes the row generically).
bool max_pool_1xk_row(const float* row, int32_t row_offset, int64_t out_w, int64_t kw, int64_t sw, float* y,
                      int64_t* idx) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i step = _mm256_mullo_epi32(lane, _mm256_set1_epi32(static_cast<int32_t>(sw)));
  __m256 nan = _mm256_setzero_ps();
  for (int64_t ow = 0; ow < out_w; ow += 8) {
    const int m = static_cast<int>(std::min<int64_t>(8, out_w - ow));
    const __m256i live = _mm256_cmpgt_epi32(_mm256_set1_epi32(m), lane);
    const float* base = row + ow * sw;
    auto gather = [&](int64_t j) {
      return _mm256_mask_i32gather_ps(_mm256_setzero_ps(), base + j, step, _mm256_castsi256_ps(live), 4);
    };
    __m256 best = gather(0);
    __m256i best_j = _mm256_setzero_si256();
    nan = _mm256_or_ps(nan, _mm256_cmp_ps(best, best, _CMP_UNORD_Q));
    for (int64_t j = 1; j < kw; ++j) {
      const __m256 v = gather(j);
      nan = _mm256_or_ps(nan, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      const __m256 take = _mm256_cmp_ps(v, best, _CMP_GT_OQ);
      best = _mm256_blendv_ps(best, v, take);
      best_j = _mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(best_j),
                                                    _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int32_t>(j))), take));
    }
    const __m256i index = _mm256_add_epi32(
        _mm256_add_epi32(_mm256_set1_epi32(row_offset + static_cast<int32_t>(ow * sw)), step), best_j);
    auto* io = reinterpret_cast<long long*>(idx + ow);
    const __m256i index_lo = _mm256_cvtepi32_epi64(_mm256_castsi256_si128(index));
    const __m256i index_hi = _mm256_cvtepi32_epi64(_mm256_extracti128_si256(index, 1));
    if (m == 8) {
      _mm256_storeu_ps(y + ow, best);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(io), index_lo);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(io + 4), index_hi);
    } else {
      _mm256_maskstore_ps(y + ow, live, best);
      _mm256_maskstore_epi64(io, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(live)), index_lo);
      _mm256_maskstore_epi64(io + 4, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(live, 1)), index_hi);
    }
  }
  return _mm256_movemask_ps(nan) != 0;
}
#endif

template <typename GenericRow>
void max_pool_2x2(const Pool2dGeometry& g, const float* x, float* y, int64_t* idx, GenericRow&& generic_row) {
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    const int64_t h = 2 * oh;
    const float* r0 = x + h * g.in_w;
    const float* r1 = r0 + g.in_w;
    float* yo = y + oh * g.out_w;
    int64_t* io = idx + oh * g.out_w;
    bool nan = false;
    int64_t ow = 0;
#if defined(__AVX2__)
    // Eight outputs per step with blends (the scalar selects below compile to branches that
    // mispredict on real data: 6 ns per output); indices computed in 32 bits.
    if (g.in_h * g.in_w < (int64_t{1} << 30)) {
      const auto in_w = static_cast<int32_t>(g.in_w);
      // 2 * out_w <= in_w, so a block of eight outputs reads at most 2 * out_w inputs.
      auto block = [&](int64_t o) {
        nan |= max_pool_2x2_x8(r0 + 2 * o, r1 + 2 * o, static_cast<int32_t>(h * g.in_w + 2 * o), in_w, yo + o, io + o);
      };
      for (; ow + 8 <= g.out_w; ow += 8) block(ow);
      if (ow < g.out_w && g.out_w >= 8) {  // the last outputs: one block overlapping the previous
        block(g.out_w - 8);
        ow = g.out_w;
      }
      if (ow < g.out_w) {  // a row of fewer than eight outputs: masked loads and stores
        nan |= max_pool_2x2_x8(r0 + 2 * ow, r1 + 2 * ow, static_cast<int32_t>(h * g.in_w + 2 * ow), in_w, yo + ow,
                               io + ow, static_cast<int>(g.out_w - ow));
        ow = g.out_w;
      }
    }
#endif
    for (; ow < g.out_w; ++ow) {
      const int64_t w = 2 * ow;
      const float a = r0[w], b = r0[w + 1], c = r1[w], d = r1[w + 1];
      nan |= (a != a) | (b != b) | (c != c) | (d != d);
      const bool tb = b > a, tt = d > c;
      const float top = tb ? b : a, bottom = tt ? d : c;
      const bool lower = bottom > top;
      yo[ow] = lower ? bottom : top;
      io[ow] = h * g.in_w + w + (lower ? g.in_w + tt : tb);
    }
    if (nan) generic_row(oh);
  }
}

}  // namespace

void max_pool2d_forward(const Pool2dGeometry& g, const float* in, float* out, int64_t* indices) {
  const int64_t in_plane = g.in_h * g.in_w;
  const int64_t out_plane = g.out_h * g.out_w;
  if (g.kernel_h == 2 && g.kernel_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.pad_top == 0 && g.pad_left == 0 &&
      2 * g.out_h <= g.in_h && 2 * g.out_w <= g.in_w) {
    for_planes(g, [&](int64_t p) {
      max_pool_2x2(g, in + p * in_plane, out + p * out_plane, indices + p * out_plane, [&](int64_t oh) {
        max_pool_rows(g, in + p * in_plane, out + p * out_plane, indices + p * out_plane, oh, oh + 1);
      });
    });
    return;
  }
#if defined(__AVX2__)
  if (g.kernel_h == 1 && g.stride_h == 1 && g.pad_top == 0 && g.pad_left == 0 && g.out_h <= g.in_h &&
      (g.out_w - 1) * g.stride_w + g.kernel_w <= g.in_w && in_plane < (int64_t{1} << 30)) {
    for_planes(g, [&](int64_t p) {
      const float* x = in + p * in_plane;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        float* y = out + p * out_plane + oh * g.out_w;
        int64_t* idx = indices + p * out_plane + oh * g.out_w;
        if (max_pool_1xk_row(x + oh * g.in_w, static_cast<int32_t>(oh * g.in_w), g.out_w, g.kernel_w, g.stride_w, y,
                             idx))
          max_pool_rows(g, x, out + p * out_plane, indices + p * out_plane, oh, oh + 1);
      }
    });
    return;
  }
#endif
  for_planes(g, [&](int64_t p) {
    max_pool_rows(g, in + p * in_plane, out + p * out_plane, indices + p * out_plane, 0, g.out_h);
  });
}

void gather_plane_indices(const Pool2dGeometry& g, const float* in, const int64_t* indices, float* out) {
  const int64_t in_plane = g.in_h * g.in_w;
  const int64_t out_plane = g.out_h * g.out_w;
  for_planes(g, [&](int64_t p) {
    const float* x = in + p * in_plane;
    const int64_t* idx = indices + p * out_plane;
    float* y = out + p * out_plane;
    for (int64_t o = 0; o < out_plane; ++o) y[o] = x[idx[o]];
  });
}

void scatter_plane_indices(const Pool2dGeometry& g, const float* grad_out, const int64_t* indices, float* grad_in) {
  const int64_t in_plane = g.in_h * g.in_w;
  const int64_t out_plane = g.out_h * g.out_w;
  for_planes(g, [&](int64_t p) {
    float* gx = grad_in + p * in_plane;
    const float* gy = grad_out + p * out_plane;
    const int64_t* idx = indices + p * out_plane;
    std::fill(gx, gx + in_plane, 0.0f);
    for (int64_t o = 0; o < out_plane; ++o) gx[idx[o]] += gy[o];
  });
}

void avg_pool2d_forward(const Pool2dGeometry& g, const float* in, float* out) {
  const int64_t in_plane = g.in_h * g.in_w;
  const int64_t out_plane = g.out_h * g.out_w;
  for_planes(g, [&](int64_t p) {
    const float* x = in + p * in_plane;
    float* y = out + p * out_plane;
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const Span sh = window(oh, g.stride_h, g.pad_top, g.kernel_h, g.in_h);
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Span sw = window(ow, g.stride_w, g.pad_left, g.kernel_w, g.in_w);
        float total = 0.0f;
        for (int64_t h = sh.begin; h < sh.end; ++h) {
          for (int64_t w = sw.begin; w < sw.end; ++w) total += x[h * g.in_w + w];
        }
        const int64_t count = (sh.end - sh.begin) * (sw.end - sw.begin);
        y[oh * g.out_w + ow] = count > 0 ? total / static_cast<float>(count) : 0.0f;
      }
    }
  });
}

void avg_pool2d_backward(const Pool2dGeometry& g, const float* grad_out, float* grad_in) {
  const int64_t in_plane = g.in_h * g.in_w;
  const int64_t out_plane = g.out_h * g.out_w;
  for_planes(g, [&](int64_t p) {
    float* gx = grad_in + p * in_plane;
    const float* gy = grad_out + p * out_plane;
    std::fill(gx, gx + in_plane, 0.0f);
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const Span sh = window(oh, g.stride_h, g.pad_top, g.kernel_h, g.in_h);
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Span sw = window(ow, g.stride_w, g.pad_left, g.kernel_w, g.in_w);
        const int64_t count = (sh.end - sh.begin) * (sw.end - sw.begin);
        if (count == 0) continue;
        const float share = gy[oh * g.out_w + ow] / static_cast<float>(count);
        for (int64_t h = sh.begin; h < sh.end; ++h) {
          for (int64_t w = sw.begin; w < sw.end; ++w) gx[h * g.in_w + w] += share;
        }
      }
    }
  });
}

void max_pool2d_nhwc(int64_t in_w, int64_t c, int64_t kernel_h, int64_t kernel_w, int64_t stride_h, int64_t stride_w,
                     int64_t out_h, int64_t out_w, const float* in, float* out) {
  for (int64_t oh = 0; oh < out_h; ++oh) {
    for (int64_t ow = 0; ow < out_w; ++ow) {
      float* y = out + (oh * out_w + ow) * c;
      const float* first = in + (oh * stride_h * in_w + ow * stride_w) * c;
      std::copy(first, first + c, y);
      for (int64_t i = 0; i < kernel_h; ++i) {
        for (int64_t j = i == 0 ? 1 : 0; j < kernel_w; ++j) {
          const float* x = first + (i * in_w + j) * c;
          // Channels are contiguous: this loop vectorizes into compares and blends.
          for (int64_t k = 0; k < c; ++k) y[k] = x[k] > y[k] || x[k] != x[k] ? x[k] : y[k];
        }
      }
    }
  }
}

}  // namespace forge::cpu
