#include "backend/cpu/conv_fused.h"

#include "core/parallel.h"

namespace forge::cpu {

void relu_grad(const float* grad, const float* y, float* out, int64_t n) {
  parallel_for(0, n, 1 << 15, [&](int64_t lo, int64_t hi) {
    // Unconditional loads through restrict locals: GCC turns the select into a vector blend
    // (with `grad[i]` read only on one side, and pointers captured by reference, it stayed a
    // scalar loop with a branch per element).
    const float* __restrict g = grad + lo;
    const float* __restrict yy = y + lo;
    float* __restrict o = out + lo;
    const int64_t m = hi - lo;
    for (int64_t i = 0; i < m; ++i) {
      const float gv = g[i];
      o[i] = yy[i] > 0.0f ? gv : 0.0f;
    }
  });
}

}  // namespace forge::cpu
