#pragma once
// Softmax family along one axis. Both are max-shifted, so large magnitudes do not overflow.
#include "core/tensor.h"

namespace forge {

// exp(x) / sum(exp(x)) along `axis`. Backward uses the output: g*y - y*sum(g*y).
Tensor softmax(const Tensor& x, int64_t axis = -1);
// x - logsumexp(x) along `axis`, computed stably. Backward: g - softmax(x)*sum(g).
Tensor log_softmax(const Tensor& x, int64_t axis = -1);

}  // namespace forge
