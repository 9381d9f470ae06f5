#pragma once
// Max pooling straight on a convolution's output in oneDNN's channel-blocked layout nChw{B}c
// ([N][C/B][H][W][B], B = 8 or 16), for the fused conv + relu + max-pool op (ops/conv.h,
// conv2d_relu_max_pool2d): the full-size activation never goes through NCHW. Windows lie inside
// the input (valid, no padding); C is a multiple of B. Results match max_pool2d_forward on the
// NCHW form exactly (values, first-maximum indices, a window's first NaN wins).
#include <cstdint>

#include "backend/cpu/pool.h"

namespace forge::cpu {

// g.planes = N * C. in: blocked [N][C/B][H][W][B]; out: plain [N][C][OH][OW]; indices: plain,
// the plane position (h * W + w) of each maximum.
void max_pool2d_blocked_forward(const Pool2dGeometry& g, int64_t channels, int64_t block, const float* in, float* out,
                                int64_t* indices);
// The gradient through the pooling and the relu that made `y` (blocked like the forward input):
// diff_in (blocked, overwritten) = grad_out (plain [N][C][OH][OW]) sent to `indices`, summed
// where windows overlap, and zero where y <= 0.
void max_pool2d_blocked_backward_relu(const Pool2dGeometry& g, int64_t channels, int64_t block, const float* grad_out,
                                      const int64_t* indices, const float* y, float* diff_in);
// Blocked [N][C/B][HW][B] -> plain [N][C][HW].
void blocked_to_plain(int64_t batch, int64_t channels, int64_t plane, int64_t block, const float* in, float* out);

}  // namespace forge::cpu
