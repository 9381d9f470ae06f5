#include "ops/dropout.h"

#include "backend/cpu/dropout.h"
#include "ops/elementwise.h"

namespace forge {

Tensor dropout(const Tensor& x, double p, bool training, Generator* gen) {
  FORGE_CHECK(x.defined(), "[dropout] input tensor is undefined");
  FORGE_CHECK(p >= 0.0 && p < 1.0, "[dropout] p must be in [0, 1), got {}", p);
  if (!training || p == 0.0) return x;
  Tensor mask = empty(x.shape());
  cpu::dropout_mask(mask.data<float>(), mask.numel(), p, static_cast<float>(1.0 / (1.0 - p)),
                    gen != nullptr ? *gen : default_generator());
  // mul records the backward g * mask; the mask is a constant.
  return mul(x, mask);
}

}  // namespace forge
