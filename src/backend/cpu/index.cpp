#include "backend/cpu/index.h"

#include <algorithm>
#include <cstring>

#include "backend/cpu/strided_loop.h"
#include "core/parallel.h"

namespace forge::cpu {

void index_select_rows(const void* x, void* out, const int64_t* index, int64_t k, int64_t outer, int64_t n,
                       int64_t inner, size_t elem_bytes) {
  const size_t row_bytes = static_cast<size_t>(inner) * elem_bytes;
  const auto* src = static_cast<const unsigned char*>(x);
  auto* dst = static_cast<unsigned char*>(out);
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, static_cast<int64_t>(row_bytes)));
  parallel_for(0, outer * k, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t o = r / k;
      const int64_t i = r % k;
      std::memcpy(dst + static_cast<size_t>(r) * row_bytes,
                  src + static_cast<size_t>(o * n + index[i]) * row_bytes, row_bytes);
    }
  });
}

void index_add_rows(float* out, const float* src, const int64_t* index, int64_t k, int64_t outer, int64_t n,
                    int64_t inner) {
  // Parallel over `outer` only: repeated indices within one block must add sequentially.
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, k * inner));
  parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t o = lo; o < hi; ++o) {
      for (int64_t i = 0; i < k; ++i) {
        float* d = out + (o * n + index[i]) * inner;
        const float* s = src + (o * k + i) * inner;
        for (int64_t j = 0; j < inner; ++j) d[j] += s[j];
      }
    }
  });
}

namespace {

// x's strides over index's shape with the gathered axis zeroed (its offset comes from index).
Shape strides_without_axis(const Tensor& t, int64_t axis) {
  Shape strides = t.strides();
  strides[static_cast<size_t>(axis)] = 0;
  return strides;
}

template <typename T>
void gather_typed(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& out) {
  const T* px = static_cast<const T*>(x.storage()->data());
  const int64_t* pi = static_cast<const int64_t*>(index.storage()->data());
  T* po = static_cast<T*>(out.raw_data());
  const int64_t axis_stride = x.strides()[static_cast<size_t>(axis)];
  StridedLoop<3> loop(index.shape(), {index.strides(), strides_without_axis(x, axis), out.strides()});
  loop.run({index.offset(), x.offset(), 0}, [&](const auto& off, int64_t count, const auto& st) {
    for (int64_t i = 0; i < count; ++i) {
      po[off[2] + i * st[2]] = px[off[1] + i * st[1] + pi[off[0] + i * st[0]] * axis_stride];
    }
  });
}

}  // namespace

void gather(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& out) {
  switch (block_bytes(x.dtype())) {
    case 1: gather_typed<uint8_t>(x, axis, index, out); break;
    case 2: gather_typed<uint16_t>(x, axis, index, out); break;
    case 4: gather_typed<uint32_t>(x, axis, index, out); break;
    case 8: gather_typed<uint64_t>(x, axis, index, out); break;
    default: fail("[gather] unsupported dtype {}", dtype_name(x.dtype()));
  }
}

void scatter_add(const Tensor& out, int64_t axis, const Tensor& index, const Tensor& src) {
  float* po = static_cast<float*>(out.storage()->data());
  const int64_t* pi = static_cast<const int64_t*>(index.storage()->data());
  const float* ps = static_cast<const float*>(src.storage()->data());
  const int64_t axis_stride = out.strides()[static_cast<size_t>(axis)];
  // Sequential: several positions may scatter into the same element.
  StridedLoop<3> loop(index.shape(), {index.strides(), src.strides(), strides_without_axis(out, axis)});
  loop.run({index.offset(), src.offset(), out.offset()}, [&](const auto& off, int64_t count, const auto& st) {
    for (int64_t i = 0; i < count; ++i) {
      po[off[2] + i * st[2] + pi[off[0] + i * st[0]] * axis_stride] += ps[off[1] + i * st[1]];
    }
  });
}

}  // namespace forge::cpu
