#pragma once
// Direct convolution for small inference inputs (the batch-1 CNN fast path, nn/conv_stack.h).
//
// Activations are NHWC ([H, W, C] per image, channels contiguous) and weights are packed
// [KH][KW][C_in][ldb] (output channels contiguous, zero padded to ldb = a multiple of 16), so
// one SIMD vector holds 16 output channels and each input value is broadcast once per tile of
// pixels. Stride 1, dilation 1, groups 1; padding is applied by the caller (a padded copy).
#include <cstdint>

namespace forge::cpu {

// Tests: run the portable C++ kernels instead of the AVX2 / AVX-512 ones on the calling thread
// (the SIMD kernels are chosen by cpuid otherwise). Also covers the Winograd GEMMs.
void use_portable_conv_kernels(bool on);

// Output channels rounded up to the SIMD width: the packed weights' row length.
inline int64_t conv_packed_ld(int64_t out_channels) { return (out_channels + 15) / 16 * 16; }

// OIHW weight [out_c, in_c, kh, kw] -> packed [kh][kw][in_c][conv_packed_ld(out_c)].
void pack_conv_weight(const float* weight, int64_t out_c, int64_t in_c, int64_t kh, int64_t kw, float* packed);

// The GEMM under both the direct and the Winograd convolutions, over rows given by pointers:
//   c[p * ldc + j] = act(bias[j] + sum_s sum_k rows[p][seg_off[s] + k] * b[(s * seglen + k) * ldb + j])
// for p < m, j < n; act is relu (NaN -> 0) when `relu`, else identity; bias may be null.
// The reduction runs over nseg segments of seglen contiguous values per row.
void row_gemm(int64_t m, const float* const* rows, const int64_t* seg_off, int64_t nseg, int64_t seglen, const float* b,
              int64_t ldb, int64_t n, const float* bias, bool relu, float* c, int64_t ldc);

struct ConvNhwcGeometry {
  int64_t in_h = 0, in_w = 0, in_c = 0;  // the (already padded) input
  int64_t kernel_h = 0, kernel_w = 0;
  int64_t out_c = 0;
  int64_t out_h() const { return in_h - kernel_h + 1; }
  int64_t out_w() const { return in_w - kernel_w + 1; }
};

// out [out_h][out_w][out_c] = act(conv(in [in_h][in_w][in_c], packed) + bias); bias may be
// null. Rows of output pixels are split over the configured threads when the work is large.
void conv2d_nhwc_direct(const ConvNhwcGeometry& g, const float* in, const float* packed, const float* bias, bool relu,
                        float* out);

// Same output as conv2d_nhwc_direct, for maps with few output pixels (a 3x3 map at the end
// of a CNN), straight from the OIHW weight [out_c, in_c, kh, kw]: the pixels' input windows are
// gathered into (in_c, kh, kw)-ordered rows and each output is a dot product with one weight
// row. No packed copy of the weight is needed; each weight row is read once per call.
void conv2d_nhwc_dot(const ConvNhwcGeometry& g, const float* in, const float* weight, const float* bias, bool relu,
                     float* out);

}  // namespace forge::cpu
