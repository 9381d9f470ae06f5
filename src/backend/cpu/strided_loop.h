#pragma once
// Row-major iteration over N operands that share one logical shape but have their own
// element strides (0 for broadcast axes). Adjacent axes that are contiguous for every
// operand are merged first, so a contiguous elementwise op becomes a single flat run.
#include <array>
#include <cstdint>

#include "core/shape.h"

namespace forge::cpu {

template <size_t N>
class StridedLoop {
 public:
  using Offsets = std::array<int64_t, N>;

  StridedLoop(const Shape& shape, const std::array<Shape, N>& strides) {
    // Drop size-1 axes, then merge axes that are contiguous for every operand.
    for (size_t axis = 0; axis < shape.size(); ++axis) {
      if (shape[axis] == 1) continue;
      bool merge = !shape_.empty();
      for (size_t k = 0; merge && k < N; ++k) {
        merge = strides_[k].back() == strides[k][axis] * shape[axis];
      }
      if (merge) {
        shape_.back() *= shape[axis];
        for (size_t k = 0; k < N; ++k) strides_[k].back() = strides[k][axis];
      } else {
        shape_.push_back(shape[axis]);
        for (size_t k = 0; k < N; ++k) strides_[k].push_back(strides[k][axis]);
      }
    }
    numel_ = numel_of(shape_);
    if (shape_.empty()) {
      shape_.push_back(1);
      for (size_t k = 0; k < N; ++k) strides_[k].push_back(0);
    }
  }

  // Calls fn(offsets, count, inner_strides) for each run along the innermost merged axis.
  template <typename F>
  void run(const Offsets& base, F&& fn) const {
    const size_t nd = shape_.size();
    const int64_t inner = shape_[nd - 1];
    Offsets inner_strides;
    for (size_t k = 0; k < N; ++k) inner_strides[k] = strides_[k][nd - 1];
    if (numel_ == 0) return;
    const int64_t outer = numel_ / inner;
    Shape index(nd, 0);
    Offsets offsets = base;
    for (int64_t o = 0; o < outer; ++o) {
      fn(offsets, inner, inner_strides);
      // Advance the multi-index over the outer axes.
      for (size_t axis = nd - 1; axis-- > 0;) {
        ++index[axis];
        for (size_t k = 0; k < N; ++k) offsets[k] += strides_[k][axis];
        if (index[axis] < shape_[axis]) break;
        for (size_t k = 0; k < N; ++k) offsets[k] -= strides_[k][axis] * shape_[axis];
        index[axis] = 0;
      }
    }
  }

  int64_t numel() const { return numel_; }

 private:
  Shape shape_;
  std::array<Shape, N> strides_;
  int64_t numel_ = 0;
};

// Strides of `strides`/`shape` broadcast to `out_shape` (0 where the axis is broadcast).
inline Shape broadcast_strides(const Shape& shape, const Shape& strides, const Shape& out_shape) {
  Shape out(out_shape.size(), 0);
  const size_t lead = out_shape.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i) {
    out[lead + i] = shape[i] == 1 ? 0 : strides[i];
  }
  return out;
}

}  // namespace forge::cpu
