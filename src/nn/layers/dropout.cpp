#include "nn/layers/dropout.h"

#include "ops/dropout.h"

namespace forge::nn {

Dropout::Dropout(double rate) : rate_(rate) {
  FORGE_CHECK(rate >= 0.0 && rate < 1.0, "[Dropout] rate must be in [0, 1), got {}", rate);
}

Tensor Dropout::forward(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[Dropout] input is undefined");
  return dropout(input, rate_, is_training(), &generator());
}

}  // namespace forge::nn
