#pragma once
// Internal: output size and padding of one spatial axis of a convolution or pooling window,
// shared by ops/conv.cpp and ops/pool.cpp. See ops/conv.h for the padding semantics.
#include <algorithm>
#include <cstdint>

#include "core/error.h"
#include "ops/conv.h"

namespace forge::detail {

struct AxisWindow {
  int64_t out = 0;
  int64_t pad_begin = 0;
  int64_t pad_end = 0;
};

// `explicit_pad` is the (symmetric) padding used when padding.kind is kExplicit.
inline AxisWindow resolve_axis(const char* op, const char* axis_name, int64_t in, int64_t kernel, int64_t stride,
                               int64_t dilation, Padding::Kind kind, int64_t explicit_pad) {
  const int64_t extent = (kernel - 1) * dilation + 1;
  AxisWindow w;
  if (kind == Padding::Kind::kSame) {
    w.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((w.out - 1) * stride + extent - in, 0);
    w.pad_begin = total / 2;
    w.pad_end = total - w.pad_begin;
    return w;
  }
  const int64_t pad = kind == Padding::Kind::kExplicit ? explicit_pad : 0;
  if (dilation == 1) {
    FORGE_CHECK(in + 2 * pad >= extent, "[{}] kernel {} {} is larger than the padded input {} {} (padding {})", op,
                axis_name, kernel, axis_name, in + 2 * pad, pad);
  } else {
    FORGE_CHECK(in + 2 * pad >= extent,
                "[{}] kernel {} {} with dilation {} spans {}, more than the padded input {} {} (padding {})", op,
                axis_name, kernel, dilation, extent, axis_name, in + 2 * pad, pad);
  }
  w.pad_begin = w.pad_end = pad;
  w.out = (in + 2 * pad - extent) / stride + 1;
  return w;
}

// The explicit padding of spatial axis `axis` (of `spatial_dims`); one value serves all axes.
inline int64_t explicit_pad(const char* op, const Padding& padding, size_t axis, size_t spatial_dims) {
  if (padding.kind != Padding::Kind::kExplicit) return 0;
  FORGE_CHECK(padding.values.size() == spatial_dims || padding.values.size() == 1,
              "[{}] explicit padding needs {} value(s) (one per spatial axis), got {}", op, spatial_dims,
              padding.values.size());
  const int64_t p = padding.values.size() == 1 ? padding.values[0] : padding.values[axis];
  FORGE_CHECK(p >= 0, "[{}] padding must be non-negative, got {}", op, p);
  return p;
}

}  // namespace forge::detail
