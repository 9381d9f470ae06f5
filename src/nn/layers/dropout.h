#pragma once
// Dropout: in training, zeroes each element with probability `rate` and scales the rest by
// 1 / (1 - rate); identity in eval mode. Masks come from the module's own generator.
#include <string>

#include "nn/module.h"

namespace forge::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double rate);
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Dropout"; }
  Shape output_shape(const Shape& input) const override { return input; }
  double rate() const { return rate_; }

 private:
  double rate_;
};

}  // namespace forge::nn
