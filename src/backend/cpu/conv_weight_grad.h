#pragma once
// The weight gradient of a convolution with few input taps (in_channels * KH * KW <= 12: the
// first layer of an image CNN, one or three input channels) from a channel-blocked diff_dst.
// oneDNN's kernels for this shape run at ~10% of the FMA peak (3.7 ms of a 25 ms training step
// of the seed CNN on one AVX2 core); here one vector holds 8 output channels, every tap keeps its
// own accumulator in a register and each input value is broadcast once per tap.
#include <cstdint>

#include "backend/cpu/dnnl_conv.h"

namespace forge::cpu {

// True when conv2d_weight_grad_small can run `g`: f32, groups 1, diff_dst blocked by 8 or 16
// (g.dst_block), in_channels * kernel_h * kernel_w <= 12, an AVX2 CPU.
bool conv2d_weight_grad_small_supported(const Conv2dGeometry& g);
// diff_weight [O, C, KH, KW] (overwritten) and diff_bias [O] (when not null) from src (plain
// [N, C, H, W]) and diff_dst (blocked [N][O/B][OH][OW][B]).
void conv2d_weight_grad_small(const Conv2dGeometry& g, const float* src, const float* diff_dst, float* diff_weight,
                              float* diff_bias);

}  // namespace forge::cpu
