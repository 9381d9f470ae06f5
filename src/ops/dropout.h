#pragma once
// Dropout.
#include "core/random.h"
#include "core/tensor.h"

namespace forge {

// Inverted dropout: each element is zeroed with probability p and survivors are scaled by
// 1/(1-p), so the expectation is unchanged. Returns x itself when !training or p == 0.
// p must be in [0, 1). The mask comes from `gen` (default generator when null), so results
// are deterministic under a seed; the gradient is g * mask * 1/(1-p).
Tensor dropout(const Tensor& x, double p, bool training, Generator* gen = nullptr);

}  // namespace forge
