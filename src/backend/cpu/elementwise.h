#pragma once
// Elementwise kernel templates: the functor is inlined into the loop (no call per element).
// Contiguous operands take a flat loop; everything else goes through StridedLoop.
#include "backend/cpu/strided_loop.h"
#include "core/parallel.h"
#include "core/tensor.h"

namespace forge::cpu {

inline constexpr int64_t kElementwiseGrain = 32768;

// out = f(a) for float32 tensors of equal shape; out must be contiguous.
template <typename F>
void unary_kernel(const Tensor& a, const Tensor& out, F f) {
  float* o = out.data<float>();
  const float* x = a.data<float>();
  if (a.is_contiguous()) {
    parallel_for(0, a.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = f(x[i]);
    });
    return;
  }
  const float* base = static_cast<const float*>(a.storage()->data());
  StridedLoop<2> loop(a.shape(), {a.strides(), out.strides()});
  loop.run({a.offset(), 0}, [&](const auto& off, int64_t n, const auto& st) {
    for (int64_t i = 0; i < n; ++i) o[off[1] + i * st[1]] = f(base[off[0] + i * st[0]]);
  });
}

// out = f(a, b) with broadcasting for float32 tensors; out is contiguous with the broadcast shape.
template <typename F>
void binary_kernel(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
  float* o = out.data<float>();
  const int64_t n = out.numel();
  if (a.is_contiguous() && b.is_contiguous()) {
    const float* x = a.data<float>();
    const float* y = b.data<float>();
    if (a.numel() == n && b.numel() == n) {
      parallel_for(0, n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) o[i] = f(x[i], y[i]);
      });
      return;
    }
    if (a.numel() == n && b.numel() == 1) {
      const float yv = y[0];
      parallel_for(0, n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) o[i] = f(x[i], yv);
      });
      return;
    }
    if (a.numel() == 1 && b.numel() == n) {
      const float xv = x[0];
      parallel_for(0, n, kElementwiseGrain, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) o[i] = f(xv, y[i]);
      });
      return;
    }
  }
  const float* xa = static_cast<const float*>(a.storage()->data());
  const float* xb = static_cast<const float*>(b.storage()->data());
  StridedLoop<3> loop(out.shape(), {broadcast_strides(a.shape(), a.strides(), out.shape()),
                                    broadcast_strides(b.shape(), b.strides(), out.shape()), out.strides()});
  loop.run({a.offset(), b.offset(), 0}, [&](const auto& off, int64_t count, const auto& st) {
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
      const float* pa = xa + off[0];
      const float* pb = xb + off[1];
      float* po = o + off[2];
      for (int64_t i = 0; i < count; ++i) po[i] = f(pa[i], pb[i]);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const float* pa = xa + off[0];
      const float vb = xb[off[1]];
      float* po = o + off[2];
      for (int64_t i = 0; i < count; ++i) po[i] = f(pa[i], vb);
    } else if (st[0] == 0 && st[1] == 1 && st[2] == 1) {
      const float va = xa[off[0]];
      const float* pb = xb + off[1];
      float* po = o + off[2];
      for (int64_t i = 0; i < count; ++i) po[i] = f(va, pb[i]);
    } else {
      for (int64_t i = 0; i < count; ++i) {
        o[off[2] + i * st[2]] = f(xa[off[0] + i * st[0]], xb[off[1] + i * st[1]]);
      }
    }
  });
}

// dst = f(dst, src) in place; src broadcasts to dst's shape; dst may be strided.
template <typename F>
void inplace_kernel(const Tensor& dst, const Tensor& src, F f) {
  float* d = static_cast<float*>(dst.storage()->data());
  const float* s = static_cast<const float*>(src.storage()->data());
  if (dst.is_contiguous() && src.is_contiguous() && src.numel() == dst.numel()) {
    float* pd = d + dst.offset();
    const float* ps = s + src.offset();
    parallel_for(0, dst.numel(), kElementwiseGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) pd[i] = f(pd[i], ps[i]);
    });
    return;
  }
  StridedLoop<2> loop(dst.shape(), {dst.strides(), broadcast_strides(src.shape(), src.strides(), dst.shape())});
  loop.run({dst.offset(), src.offset()}, [&](const auto& off, int64_t n, const auto& st) {
    for (int64_t i = 0; i < n; ++i) {
      float& v = d[off[0] + i * st[0]];
      v = f(v, s[off[1] + i * st[1]]);
    }
  });
}

}  // namespace forge::cpu
