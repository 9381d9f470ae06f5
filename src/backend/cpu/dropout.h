#pragma once
// Dropout mask generation (sequential: the generator's stream defines the mask).
#include <cstdint>

#include "core/random.h"

namespace forge::cpu {

// mask[i] = scale with probability 1 - p, else 0, drawing one uniform per element.
inline void dropout_mask(float* mask, int64_t n, double p, float scale, Generator& gen) {
  for (int64_t i = 0; i < n; ++i) mask[i] = gen.uniform() >= p ? scale : 0.0f;
}

}  // namespace forge::cpu
