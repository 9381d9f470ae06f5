#pragma once
// Index kernels: row gathers/adds along one axis and torch-style gather/scatter_add.
// Callers validate every index first; these kernels trust them and never check again.
#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace forge::cpu {

// out[o, i, :] = x[o, index[i], :] for contiguous x [outer, n, inner] and out [outer, k, inner];
// elements are `elem_bytes` wide, so any plain dtype works.
void index_select_rows(const void* x, void* out, const int64_t* index, int64_t k, int64_t outer, int64_t n,
                       int64_t inner, size_t elem_bytes);
// out[o, index[i], :] += src[o, i, :] for contiguous float32 out [outer, n, inner], src [outer, k, inner].
void index_add_rows(float* out, const float* src, const int64_t* index, int64_t k, int64_t outer, int64_t n,
                    int64_t inner);
// out[p] = x[p with coordinate `axis` replaced by index[p]] for every position p of index's shape.
// index is int64 (any strides); out is contiguous with index's shape and x's dtype.
void gather(const Tensor& x, int64_t axis, const Tensor& index, const Tensor& out);
// out[p with coordinate `axis` replaced by index[p]] += src[p] for every p of index's shape.
// out is float32 (any strides); src is float32 with index's shape.
void scatter_add(const Tensor& out, int64_t axis, const Tensor& index, const Tensor& src);

}  // namespace forge::cpu
