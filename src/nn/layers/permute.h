#pragma once
// Keras Permute: reorders the non-batch axes. dims are 1-based (axis 0 is the batch), e.g.
// Permute({2, 1}) turns an Embedding's [N, T, D] into Conv1D's [N, D, T]. A view (no copy).
#include <string>
#include <vector>

#include "nn/module.h"

namespace forge::nn {

class Permute : public Module {
 public:
  // dims: a permutation of 1..k for inputs of rank k + 1.
  explicit Permute(std::vector<int64_t> dims);
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Permute"; }
  Shape output_shape(const Shape& input) const override;
  const std::vector<int64_t>& dims() const { return dims_; }

 private:
  std::vector<int64_t> dims_;
};

}  // namespace forge::nn
