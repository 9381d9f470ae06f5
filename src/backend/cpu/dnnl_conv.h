#pragma once
// 2-D convolution kernels through oneDNN. The caller's tensors are plain f32 (NCHW activations,
// OIHW weights); inside, oneDNN picks its own layout (format `any`: usually blocked nChw16c /
// OIhw16i16o, the layouts its AVX-512 kernels want) and the arguments are reordered only at the
// boundaries of each call, into per-thread scratch buffers. With `bf16` set, sources, weights
// and output gradients are converted to bf16 (AVX512-BF16 kernels) while outputs, weight
// gradients and accumulation stay f32. 1-D convolutions use these with H = 1. Primitives and
// their reorders are cached by the full geometry, so repeated calls with the same shapes reuse them.
#include <cstdint>

namespace forge::cpu {

// Everything that determines a convolution. Dilation is PyTorch-style (1 = dense); padding
// may be asymmetric (top/left vs bottom/right).
struct Conv2dGeometry {
  int64_t batch = 0, in_channels = 0, in_h = 0, in_w = 0;
  int64_t out_channels = 0, kernel_h = 0, kernel_w = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t groups = 1;
  int64_t out_h = 0, out_w = 0;
  int64_t bf16 = 0;  // 1: bf16 inputs/weights/output gradients, f32 outputs and accumulation
  // Layout of dst / diff_dst: 0 = plain NCHW; 8 or 16 = oneDNN's channel-blocked nChw8c / nChw16c
  // ([N][C/B][H][W][B]), where the fused conv + relu + max-pool op keeps the activation.
  int64_t dst_block = 0;
};

// dst[N, O, OH, OW] = conv(src[N, C, H, W], weight[O, C/groups, KH, KW]) + bias[O] (bias may be null),
// followed by max(., 0) when `relu` (a fused oneDNN post-op).
void conv2d_forward(const Conv2dGeometry& g, const float* src, const float* weight, const float* bias, float* dst,
                    bool relu = false);
// diff_src[N, C, H, W] from diff_dst[N, O, OH, OW] and weight (overwrites diff_src).
void conv2d_backward_data(const Conv2dGeometry& g, const float* diff_dst, const float* weight, float* diff_src);
// diff_weight[O, C/groups, KH, KW] from src and diff_dst (overwrites diff_weight); when diff_bias
// is not null it receives the bias gradient (diff_dst summed over N, OH, OW) from the same pass.
void conv2d_backward_weights(const Conv2dGeometry& g, const float* src, const float* diff_dst, float* diff_weight,
                             float* diff_bias = nullptr);

// The channel block (8 or 16) of the layout oneDNN's forward kernel writes for `g` (with bias
// and relu) when that is nChw8c / nChw16c, else 0 (plain or another layout; bf16). With
// g.dst_block set to it, forward and backward passes exchange dst / diff_dst without reorders.
int64_t conv2d_native_block(const Conv2dGeometry& g);

// Number of cached primitives (for tests).
int64_t conv2d_cache_size();

}  // namespace forge::cpu
