#pragma once
// Joining, splitting and indexing along one axis (PyTorch semantics). Indices are int64 or
// int32 tensors; every index is checked, and a bad one throws naming the op, the index and
// the valid range. All ops are differentiable in their float inputs.
#include <vector>

#include "core/tensor.h"

namespace forge {

// Joins tensors of equal dtype whose shapes match except along `axis`.
Tensor concat(const Tensors& xs, int64_t axis = 0);
// Joins tensors of identical shape along a new axis (axis may be -1 .. dim).
Tensor stack(const Tensors& xs, int64_t axis = 0);
// Views (slices) of x with the given sizes along `axis`; the sizes must add up to its length.
Tensors split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis = 0);
// `chunks` views of ceil(n / chunks) elements along `axis` (the last may be shorter, and fewer
// are returned when n is small, like torch.chunk).
Tensors chunk(const Tensor& x, int64_t chunks, int64_t axis = 0);

// x with `axis` replaced by the entries index[i] (index 1-d). Any plain dtype.
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index);
// torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1; out has index's shape,
// index has x's rank and index.size(d) <= x.size(d) for d != axis.
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);
// Out-of-place: a copy of base with source.select(axis, i) added to row index[i] along `axis`
// (repeated indices accumulate). source is base's shape with `axis` of length index.size(0).
Tensor index_add(const Tensor& base, int64_t axis, const Tensor& index, const Tensor& source);
// Out-of-place torch.scatter_add: out[..index[p]..] += source[p] for p over index's shape
// (index.size(d) <= source.size(d), and <= base.size(d) for d != axis).
Tensor scatter_add(const Tensor& base, int64_t axis, const Tensor& index, const Tensor& source);
// float32 [..., num_classes] with a 1 at each label; labels are integers in [0, num_classes).
// num_classes = -1 uses max(label) + 1. No gradient.
Tensor one_hot(const Tensor& labels, int64_t num_classes);

namespace detail {
// A contiguous int64 copy of an int64/int32 index tensor; throws "[op] index must be ...".
Tensor index_as_int64(const Tensor& index, const char* op);
// Throws "[op] index 7 out of range for <what>" for the first index outside [0, limit).
void check_index_range(const Tensor& index64, int64_t limit, const char* op, const std::string& what);
}  // namespace detail

}  // namespace forge
