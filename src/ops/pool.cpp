#include "ops/pool.h"

#include "autograd/node.h"
#include "backend/cpu/pool.h"
#include "ops/reduce.h"
#include "ops/spatial.h"
#include "ops/view.h"

namespace forge {

namespace {

// One pooling call in its 2-D form (1-D pooling has H = 1), with the tensor shapes around it.
struct PoolCall {
  cpu::Pool2dGeometry g;
  Shape input_shape;   // 4-d
  Shape output_shape;  // 4-d
};

Tensor as_float_contiguous(const Tensor& x) { return (x.dtype() == DType::kF32 ? x : x.to(DType::kF32)).contiguous(); }

// `kernel`/`stride` have one entry per spatial axis (1 or 2).
PoolCall make_call(const char* op, const Tensor& input, const std::vector<int64_t>& kernel, std::vector<int64_t> stride,
                   const Padding& padding) {
  const size_t spatial = kernel.size();
  FORGE_CHECK(input.defined(), "[{}] input is undefined", op);
  FORGE_CHECK(input.dim() == static_cast<int64_t>(spatial + 2), "[{}] input must be {}-d {}, got {}", op, spatial + 2,
              spatial == 1 ? "(N,C,L)" : "(N,C,H,W)", shape_str(input.shape()));
  for (size_t i = 0; i < spatial; ++i) {
    FORGE_CHECK(kernel[i] >= 1, "[{}] kernel size must be positive, got {}", op, shape_str(kernel));
    FORGE_CHECK(stride[i] >= 0, "[{}] stride must be positive (or 0 for stride = kernel), got {}", op,
                shape_str(stride));
    if (stride[i] == 0) stride[i] = kernel[i];
  }
  const Shape& s = input.shape();
  PoolCall call;
  cpu::Pool2dGeometry& g = call.g;
  g.planes = s[0] * s[1];
  const char* axis_names[2] = {"height", spatial == 2 ? "width" : "length"};
  int64_t* in_sizes[2] = {&g.in_h, &g.in_w};
  int64_t* kernels[2] = {&g.kernel_h, &g.kernel_w};
  int64_t* strides[2] = {&g.stride_h, &g.stride_w};
  int64_t* pads[2] = {&g.pad_top, &g.pad_left};
  int64_t* outs[2] = {&g.out_h, &g.out_w};
  g.in_h = g.out_h = 1;
  for (size_t i = 0; i < spatial; ++i) {
    const size_t axis = i + 2 - spatial;  // 1-D pooling fills the width axis
    *in_sizes[axis] = s[i + 2];
    *kernels[axis] = kernel[i];
    *strides[axis] = stride[i];
    const int64_t p = detail::explicit_pad(op, padding, i, spatial);
    FORGE_CHECK(p <= kernel[i] / 2, "[{}] padding {} must be at most half the kernel size {}", op, p, kernel[i]);
    const detail::AxisWindow w =
        detail::resolve_axis(op, axis_names[axis], s[i + 2], kernel[i], stride[i], 1, padding.kind, p);
    *pads[axis] = w.pad_begin;
    *outs[axis] = w.out;
  }
  call.input_shape = {s[0], s[1], g.in_h, g.in_w};
  call.output_shape = {s[0], s[1], g.out_h, g.out_w};
  return call;
}

Tensor gather_indices(const Tensor& x, const Tensor& indices, const PoolCall& call);

// grad_input[p, indices[p, o]] += grad_output[p, o]; its adjoint is gather_indices.
Tensor scatter_indices(const Tensor& grad_output, const Tensor& indices, const PoolCall& call) {
  Tensor go = as_float_contiguous(grad_output);
  Tensor out = empty(call.input_shape);
  cpu::scatter_plane_indices(call.g, go.data<float>(), indices.data<int64_t>(), out.data<float>());
  if (needs_grad({&grad_output})) {
    record("max_pool2d_backward", {grad_output}, out,
           [indices, call](const Tensors& grads) { return Tensors{gather_indices(grads[0], indices, call)}; });
  }
  return out;
}

// out[p, o] = x[p, indices[p, o]]: max pooling with known argmax positions.
Tensor gather_indices(const Tensor& x_in, const Tensor& indices, const PoolCall& call) {
  Tensor x = as_float_contiguous(x_in);
  Tensor out = empty(call.output_shape);
  cpu::gather_plane_indices(call.g, x.data<float>(), indices.data<int64_t>(), out.data<float>());
  if (needs_grad({&x_in})) {
    record("max_pool2d", {x_in}, out,
           [indices, call](const Tensors& grads) { return Tensors{scatter_indices(grads[0], indices, call)}; });
  }
  return out;
}

Tensor max_pool(const Tensor& input, const PoolCall& call) {
  Tensor x = as_float_contiguous(input).reshape(call.input_shape);
  Tensor out = empty(call.output_shape);
  Tensor indices = empty(call.output_shape, DType::kI64);
  cpu::max_pool2d_forward(call.g, x.data<float>(), out.data<float>(), indices.data<int64_t>());
  Tensor in4 = input.reshape(call.input_shape);
  if (needs_grad({&in4})) {
    record("max_pool2d", {in4}, out,
           [indices, call](const Tensors& grads) { return Tensors{scatter_indices(grads[0], indices, call)}; });
  }
  return out;
}

Tensor avg_pool_backward(const Tensor& grad_output, const PoolCall& call);

// Window means (padding excluded). Linear, so its gradient is its adjoint avg_pool_backward.
Tensor avg_pool(const Tensor& input, const PoolCall& call) {
  Tensor in4 = input.reshape(call.input_shape);
  Tensor x = as_float_contiguous(in4);
  Tensor out = empty(call.output_shape);
  cpu::avg_pool2d_forward(call.g, x.data<float>(), out.data<float>());
  if (needs_grad({&in4})) {
    record("avg_pool2d", {in4}, out,
           [call](const Tensors& grads) { return Tensors{avg_pool_backward(grads[0], call)}; });
  }
  return out;
}

Tensor avg_pool_backward(const Tensor& grad_output, const PoolCall& call) {
  Tensor go = as_float_contiguous(grad_output);
  Tensor out = empty(call.input_shape);
  cpu::avg_pool2d_backward(call.g, go.data<float>(), out.data<float>());
  if (needs_grad({&grad_output})) {
    record("avg_pool2d_backward", {grad_output}, out,
           [call](const Tensors& grads) { return Tensors{avg_pool(grads[0], call)}; });
  }
  return out;
}

Shape output_1d(const PoolCall& call) { return {call.output_shape[0], call.output_shape[1], call.output_shape[3]}; }

void check_global(const char* op, const Tensor& input, int64_t rank) {
  FORGE_CHECK(input.defined(), "[{}] input is undefined", op);
  FORGE_CHECK(input.dim() == rank, "[{}] input must be {}-d {}, got {}", op, rank, rank == 3 ? "(N,C,L)" : "(N,C,H,W)",
              shape_str(input.shape()));
  for (int64_t axis = 2; axis < rank; ++axis) {
    FORGE_CHECK(input.shape()[static_cast<size_t>(axis)] > 0, "[{}] input {} has an empty spatial axis", op,
                shape_str(input.shape()));
  }
}

}  // namespace

Tensor max_pool1d(const Tensor& input, int64_t kernel, int64_t stride, const Padding& padding) {
  const PoolCall call = make_call("max_pool1d", input, {kernel}, {stride}, padding);
  return max_pool(input, call).reshape(output_1d(call));
}

Tensor avg_pool1d(const Tensor& input, int64_t kernel, int64_t stride, const Padding& padding) {
  const PoolCall call = make_call("avg_pool1d", input, {kernel}, {stride}, padding);
  return avg_pool(input, call).reshape(output_1d(call));
}

Tensor max_pool2d(const Tensor& input, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  const Padding& padding) {
  return max_pool(input, make_call("max_pool2d", input, {kernel[0], kernel[1]}, {stride[0], stride[1]}, padding));
}

Tensor avg_pool2d(const Tensor& input, std::array<int64_t, 2> kernel, std::array<int64_t, 2> stride,
                  const Padding& padding) {
  return avg_pool(input, make_call("avg_pool2d", input, {kernel[0], kernel[1]}, {stride[0], stride[1]}, padding));
}

Tensor max_unpool2d(const Tensor& grad_output, const Tensor& indices, const Shape& input_shape) {
  const char* op = "max_unpool2d";
  FORGE_CHECK(grad_output.defined() && indices.defined(), "[{}] grad_output and indices must be defined", op);
  FORGE_CHECK(input_shape.size() == 4 && grad_output.dim() == 4 && grad_output.shape() == indices.shape() &&
                  indices.dtype() == DType::kI64 && grad_output.shape()[0] == input_shape[0] &&
                  grad_output.shape()[1] == input_shape[1],
              "[{}] grad_output {} and i64 indices of the same shape must match an (N,C,H,W) input {}", op,
              shape_str(grad_output.shape()), shape_str(input_shape));
  PoolCall call;
  call.g.planes = input_shape[0] * input_shape[1];
  call.g.in_h = input_shape[2];
  call.g.in_w = input_shape[3];
  call.g.out_h = grad_output.shape()[2];
  call.g.out_w = grad_output.shape()[3];
  call.input_shape = input_shape;
  call.output_shape = grad_output.shape();
  return scatter_indices(grad_output, indices.contiguous(), call);
}

Tensor global_max_pool1d(const Tensor& input) {
  check_global("global_max_pool1d", input, 3);
  return max(input, {2});
}

Tensor global_avg_pool1d(const Tensor& input) {
  check_global("global_avg_pool1d", input, 3);
  return mean(input, {2});
}

Tensor global_max_pool2d(const Tensor& input) {
  check_global("global_max_pool2d", input, 4);
  return max(input, {2, 3});
}

Tensor global_avg_pool2d(const Tensor& input) {
  check_global("global_avg_pool2d", input, 4);
  return mean(input, {2, 3});
}

}  // namespace forge
