#pragma once
// Winograd F(4x4, 3x3) convolution for small NHWC inference inputs (nn/conv_stack.h).
//
// Each 4x4 block of outputs comes from a 6x6 input tile: V = B^T d B per tile and input
// channel, U = G g G^T per filter (packed once, see winograd_pack_weight), then 36 GEMMs
// M[e] = V[e] U[e] (one per tile element, the GEMM of conv_direct.h) and Y = A^T M A, with
// Lavin's matrices (interpolation points 0, +-1, +-2). 4x fewer multiplies than direct
// convolution on whole tiles; the transforms change rounding (differences around 1e-6 of the
// sum of |terms|, checked against a double-precision reference in the tests).
#include <cstdint>

#include "backend/cpu/conv_direct.h"

namespace forge::cpu {

// Floats in the packed transformed weight: 36 * in_c * conv_packed_ld(out_c).
inline int64_t winograd_packed_size(int64_t out_c, int64_t in_c) { return 36 * in_c * conv_packed_ld(out_c); }

// OIHW 3x3 weight [out_c, in_c, 3, 3] -> U [36][in_c][conv_packed_ld(out_c)].
void winograd_pack_weight(const float* weight, int64_t out_c, int64_t in_c, float* packed);

// Same contract as conv2d_nhwc_direct for a 3x3 kernel (g.kernel_h == g.kernel_w == 3),
// with `packed` from winograd_pack_weight. Tiles are split over the configured threads.
void conv2d_nhwc_winograd3x3(const ConvNhwcGeometry& g, const float* in, const float* packed, const float* bias,
                             bool relu, float* out);

}  // namespace forge::cpu
