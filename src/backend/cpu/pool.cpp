#include "backend/cpu/pool.h"

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
template <typename GenericRow>
void max_pool_2x2(const Pool2dGeometry& g, const float* x, float* y, int64_t* idx, GenericRow&& generic_row) {
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    const int64_t h = 2 * oh;
    const float* r0 = x + h * g.in_w;
    const float* r1 = r0 + g.in_w;
    float* yo = y + oh * g.out_w;
    int64_t* io = idx + oh * g.out_w;
    bool nan = false;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
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

}  // namespace forge::cpu
