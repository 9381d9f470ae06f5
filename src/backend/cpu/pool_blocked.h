#pragma once
// Max pooling straight on a convolution's output in oneDNN's channel-blocked layout nChw{B}c
// ([N][C/B][H][W][B], B = 8 or 16), for the fused conv + relu + max-pool op (ops/conv.h,
// conv2d_relu_max_pool2d): the full-size activation never goes through NCHW. Windows lie inside
// the input (valid, no padding), hold at most 128 positions, and C is a multiple of B. Values
// and maxima positions match max_pool2d_forward on the NCHW form exactly (first maximum of a
// window; a window's first NaN wins).
//
// Where each maximum was is kept as one byte per output, blocked like the input
// ([N][C/B][OH][OW][B]): its offset in the window (kh * KW + kw), plus kNoGradient when the
// maximum is not > 0 (the relu before the pooling passes no gradient there). The backward then
// reads 1 byte per output instead of an 8-byte index and no activation at all.
#include <cstdint>

#include "backend/cpu/pool.h"

namespace forge::cpu {

inline constexpr uint8_t kNoGradient = 0x80;

// g.planes = N * C. in: blocked [N][C/B][H][W][B]; out: plain [N][C][OH][OW]; where: see above.
void max_pool2d_blocked_forward(const Pool2dGeometry& g, int64_t channels, int64_t block, const float* in, float* out,
                                uint8_t* where);
// diff_in (blocked like the forward input, overwritten) = grad_out (plain [N][C][OH][OW]) sent
// to each window's maximum, summed where windows overlap, zero where kNoGradient is set.
void max_pool2d_blocked_backward_relu(const Pool2dGeometry& g, int64_t channels, int64_t block, const float* grad_out,
                                      const uint8_t* where, float* diff_in);
// The plane positions (h * W + w, plain [N][C][OH][OW]) of the maxima, as max_pool2d_forward
// returns them (for the differentiable backward).
void blocked_window_to_plane_indices(const Pool2dGeometry& g, int64_t channels, int64_t block, const uint8_t* where,
                                     int64_t* indices);
// Blocked [N][C/B][HW][B] -> plain [N][C][HW].
void blocked_to_plain(int64_t batch, int64_t channels, int64_t plane, int64_t block, const float* in, float* out);

}  // namespace forge::cpu
