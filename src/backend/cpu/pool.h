#pragma once
// 2-D pooling kernels over contiguous [planes, H, W] float32 data (planes = N * C); 1-D
// pooling runs with H = 1. Parallel over planes.
#include <cstdint>

namespace forge::cpu {

struct Pool2dGeometry {
  int64_t planes = 0, in_h = 0, in_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // the bottom/right padding is implied by out_h/out_w
  int64_t out_h = 0, out_w = 0;
};

// out = window maxima; indices = flat position (h * in_w + w) of each maximum in its plane.
void max_pool2d_forward(const Pool2dGeometry& g, const float* in, float* out, int64_t* indices);
// out[p, o] = in[p, indices[p, o]]: the values at recorded positions.
void gather_plane_indices(const Pool2dGeometry& g, const float* in, const int64_t* indices, float* out);
// grad_in[p, indices[p, o]] += grad_out[p, o] (grad_in is overwritten, not accumulated into).
void scatter_plane_indices(const Pool2dGeometry& g, const float* grad_out, const int64_t* indices, float* grad_in);
// Window means over the positions inside the input (padding excluded from the count).
void avg_pool2d_forward(const Pool2dGeometry& g, const float* in, float* out);
// The adjoint of avg_pool2d_forward (grad_in is overwritten).
void avg_pool2d_backward(const Pool2dGeometry& g, const float* grad_out, float* grad_in);

// Window maxima on one channels-last image (the inference fast path, nn/conv_stack.h): in
// [in_h][in_w][c] -> out [out_h][out_w][c], windows kernel x kernel at the given strides, all
// inside the input (no padding). A NaN in a window makes its maximum NaN, like the planar path.
void max_pool2d_nhwc(int64_t in_w, int64_t c, int64_t kernel_h, int64_t kernel_w, int64_t stride_h, int64_t stride_w,
                     int64_t out_h, int64_t out_w, const float* in, float* out);

}  // namespace forge::cpu
