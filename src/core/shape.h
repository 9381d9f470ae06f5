#pragma once
// Shapes and strides (in elements, row-major) plus the helpers every op uses.
#include <cstdint>
#include <string>
#include <vector>

namespace forge {

using Shape = std::vector<int64_t>;

int64_t numel_of(const Shape& shape);
Shape contiguous_strides(const Shape& shape);
// "(64,784)"
std::string shape_str(const Shape& shape);
// Maps a possibly negative axis into [0, ndim); throws "[op] axis 3 out of range for 2-d tensor".
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);
// NumPy broadcasting of two shapes; throws "[op] shapes (2,3) and (4,3) cannot be broadcast".
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

}  // namespace forge
