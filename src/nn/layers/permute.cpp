#include "nn/layers/permute.h"

#include <fmt/ranges.h>

#include <algorithm>

#include "ops/view.h"

namespace forge::nn {

Permute::Permute(std::vector<int64_t> dims) : dims_(std::move(dims)) {
  std::vector<int64_t> sorted = dims_;
  std::sort(sorted.begin(), sorted.end());
  bool ok = !sorted.empty();
  for (size_t i = 0; i < sorted.size(); ++i) ok = ok && sorted[i] == static_cast<int64_t>(i) + 1;
  FORGE_CHECK(ok, "[Permute] dims must be a permutation of 1..{} (axis 0 is the batch), got [{}]", dims_.size(),
              fmt::join(dims_, ", "));
}

Shape Permute::output_shape(const Shape& input) const {
  FORGE_CHECK(input.size() == dims_.size() + 1, "[Permute] dims [{}] need a {}-d input (batch + {} axes), got {}",
              fmt::join(dims_, ", "), dims_.size() + 1, dims_.size(), shape_str(input));
  Shape out{input[0]};
  for (int64_t d : dims_) out.push_back(input[static_cast<size_t>(d)]);
  return out;
}

Tensor Permute::forward(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[Permute] input is undefined");
  output_shape(input.shape());
  Shape axes{0};
  axes.insert(axes.end(), dims_.begin(), dims_.end());
  return permute(input, axes);
}

}  // namespace forge::nn
