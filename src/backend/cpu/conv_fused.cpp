#include "backend/cpu/conv_fused.h"

#include "core/parallel.h"

namespace forge::cpu {

void relu_grad(const float* grad, const float* y, float* out, int64_t n) {
  parallel_for(0, n, 1 << 15, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = y[i] > 0.0f ? grad[i] : 0.0f;
  });
}

}  // namespace forge::cpu
