#include "ops/conv.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backend/cpu/conv_fused.h"
#include "backend/cpu/dnnl_conv.h"
#include "backend/cpu/pool_blocked.h"
#include "ops/elementwise.h"
#include "ops/pool.h"
#include "ops/precision.h"
#include "ops/reduce.h"
#include "ops/spatial.h"
#include "ops/view.h"

namespace forge {

namespace {

// The 2-D form every convolution runs as (conv1d maps to it with H = 1).
struct Conv2dParams {
  std::array<int64_t, 2> stride{1, 1};
  Padding padding;
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

Tensor as_float_contiguous(const Tensor& x) { return (x.dtype() == DType::kF32 ? x : x.to(DType::kF32)).contiguous(); }

std::string layout_of(size_t spatial, bool weight) {
  if (weight) return spatial == 1 ? "(C_out,C_in/groups,K)" : "(C_out,C_in/groups,KH,KW)";
  return spatial == 1 ? "(N,C,L)" : "(N,C,H,W)";
}

// Validates shapes and arguments and works out the geometry. `stride`/`dilation` have one
// entry per spatial axis (1 or 2); a 1-D convolution becomes H = 1.
cpu::Conv2dGeometry make_geometry(const char* op, const Shape& input, const Shape& weight,
                                  const std::vector<int64_t>& stride, const Padding& padding,
                                  const std::vector<int64_t>& dilation, int64_t groups) {
  const size_t spatial = stride.size();
  FORGE_CHECK(input.size() == spatial + 2, "[{}] input must be {}-d {}, got {}", op, spatial + 2,
              layout_of(spatial, false), shape_str(input));
  FORGE_CHECK(weight.size() == spatial + 2, "[{}] weight must be {}-d {}, got {}", op, spatial + 2,
              layout_of(spatial, true), shape_str(weight));
  FORGE_CHECK(groups >= 1, "[{}] groups must be positive, got {}", op, groups);
  for (size_t i = 0; i < spatial; ++i) {
    FORGE_CHECK(stride[i] >= 1, "[{}] stride must be positive, got {}", op, shape_str(stride));
    FORGE_CHECK(dilation[i] >= 1, "[{}] dilation must be positive, got {}", op, shape_str(dilation));
  }
  const int64_t c_in = input[1];
  const int64_t c_out = weight[0];
  FORGE_CHECK(c_out % groups == 0, "[{}] groups={} must divide the {} output channels of weight {}", op, groups, c_out,
              shape_str(weight));
  FORGE_CHECK(c_in % groups == 0, "[{}] groups={} must divide the input's {} channels", op, groups, c_in);
  FORGE_CHECK(c_in == weight[1] * groups, "[{}] input has {} channels but weight {} expects {} (groups={})", op, c_in,
              shape_str(weight), weight[1] * groups, groups);
  FORGE_CHECK(c_in > 0 && c_out > 0, "[{}] channel counts must be positive: input {}, weight {}", op, shape_str(input),
              shape_str(weight));
  for (size_t i = 2; i < weight.size(); ++i) {
    FORGE_CHECK(weight[i] >= 1, "[{}] kernel sizes must be positive, weight is {}", op, shape_str(weight));
  }

  cpu::Conv2dGeometry g;
  g.bf16 = math_precision() == Precision::kBF16 ? 1 : 0;
  g.batch = input[0];
  g.in_channels = c_in;
  g.out_channels = c_out;
  g.groups = groups;
  const int64_t explicit_h = spatial == 2 ? detail::explicit_pad(op, padding, 0, 2) : 0;
  const int64_t explicit_w = detail::explicit_pad(op, padding, spatial - 1, spatial);
  if (spatial == 2) {
    g.in_h = input[2];
    g.kernel_h = weight[2];
    g.stride_h = stride[0];
    g.dilation_h = dilation[0];
    const detail::AxisWindow h =
        detail::resolve_axis(op, "height", g.in_h, g.kernel_h, g.stride_h, g.dilation_h, padding.kind, explicit_h);
    g.out_h = h.out;
    g.pad_top = h.pad_begin;
    g.pad_bottom = h.pad_end;
  } else {
    g.in_h = g.kernel_h = g.out_h = 1;
  }
  g.in_w = input.back();
  g.kernel_w = weight.back();
  g.stride_w = stride.back();
  g.dilation_w = dilation.back();
  const detail::AxisWindow w = detail::resolve_axis(op, spatial == 2 ? "width" : "length", g.in_w, g.kernel_w,
                                                    g.stride_w, g.dilation_w, padding.kind, explicit_w);
  g.out_w = w.out;
  g.pad_left = w.pad_begin;
  g.pad_right = w.pad_end;
  return g;
}

cpu::Conv2dGeometry make_geometry(const char* op, const Shape& input, const Shape& weight, const Conv2dParams& p) {
  return make_geometry(op, input, weight, {p.stride[0], p.stride[1]}, p.padding, {p.dilation[0], p.dilation[1]},
                       p.groups);
}

Shape output_shape(const cpu::Conv2dGeometry& g) { return {g.batch, g.out_channels, g.out_h, g.out_w}; }

void check_bias(const char* op, const Tensor& bias, int64_t out_channels) {
  if (!bias.defined()) return;
  FORGE_CHECK(bias.dim() == 1 && bias.shape()[0] == out_channels,
              "[{}] bias must have shape ({}) (one value per output channel), got {}", op, out_channels,
              shape_str(bias.shape()));
}

Tensor conv2d_backward_input_impl(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                                  const Conv2dParams& p);
Tensor conv2d_backward_weight_impl(const Tensor& grad_output, const Tensor& input, const Shape& weight_shape,
                                   const Conv2dParams& p);

// grad * (y > 0): the gradient through a relu whose output is y. One fused pass on the plain
// backward; the composed (differentiable) form when a graph of the backward is being built.
Tensor relu_grad(const Tensor& grad, const Tensor& y) {
  if (grad_enabled()) return mul(grad, gt(y, 0.0));
  Tensor go = as_float_contiguous(grad);
  Tensor out = empty(y.shape());
  cpu::relu_grad(go.data<float>(), y.data<float>(), out.data<float>(), y.numel());
  return out;
}

// The weight and bias gradients of one convolution. On the plain backward both come from one
// oneDNN pass; with a graph of the backward they are the differentiable ops. `input_f32` is the
// forward's plain f32 copy of `input` (the same storage when no copy was needed): a permuted
// conv1d input is not copied again.
std::pair<Tensor, Tensor> weight_and_bias_grads(const Tensor& go, const Tensor& input, const Tensor& input_f32,
                                                const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  const bool want_w = weight.requires_grad();
  const bool want_b = bias.defined() && bias.requires_grad();
  if (want_w && want_b && !grad_enabled()) {
    const cpu::Conv2dGeometry g = make_geometry("conv2d_backward_weight", input.shape(), weight.shape(), p);
    const Tensor& x = input_f32;
    Tensor gof = as_float_contiguous(go);
    Tensor gw = empty(weight.shape());
    Tensor gb = empty(bias.shape());
    cpu::conv2d_backward_weights(g, x.data<float>(), gof.data<float>(), gw.data<float>(), gb.data<float>());
    return {gw, gb};
  }
  Tensor gw = want_w ? conv2d_backward_weight_impl(go, input, weight.shape(), p) : Tensor();
  Tensor gb = want_b ? sum(go, {0, 2, 3}) : Tensor();
  return {gw, gb};
}

// input/weight are 4-d (possibly views of 3-d conv1d operands); g was validated by the caller.
// `relu` fuses max(., 0) into the convolution (a oneDNN post-op).
Tensor conv2d_run(const cpu::Conv2dGeometry& g, const Tensor& input, const Tensor& weight, const Tensor& bias,
                  const Conv2dParams& p, bool relu = false) {
  Tensor x = as_float_contiguous(input);
  Tensor w = as_float_contiguous(weight);
  Tensor b = bias.defined() ? as_float_contiguous(bias) : Tensor();
  Tensor out = empty(output_shape(g));
  cpu::conv2d_forward(g, x.data<float>(), w.data<float>(), b.defined() ? b.data<float>() : nullptr, out.data<float>(),
                      relu);
  if (needs_grad({&input, &weight, &bias})) {
    Tensor y = relu ? out.detach() : Tensor();
    const Tensor x_f32 = x.detach();
    record(relu ? "conv2d_relu" : "conv2d", {input, weight, bias}, out,
           [input, x_f32, weight, bias, p, y](const Tensors& grads) {
             const Tensor go = y.defined() ? relu_grad(grads[0], y) : grads[0];
             Tensor gx = input.requires_grad() ? conv2d_backward_input_impl(go, weight, input.shape(), p) : Tensor();
             auto [gw, gb] = weight_and_bias_grads(go, input, x_f32, weight, bias, p);
             return Tensors{gx, gw, gb};
           });
  }
  return out;
}

void check_grad_output(const char* op, const Tensor& grad_output, const cpu::Conv2dGeometry& g) {
  FORGE_CHECK(grad_output.defined(), "[{}] grad_output is undefined", op);
  FORGE_CHECK(grad_output.shape() == output_shape(g), "[{}] grad_output has shape {} but the convolution produces {}",
              op, shape_str(grad_output.shape()), shape_str(output_shape(g)));
}

// d input = the adjoint of the convolution in its input. Linear in (grad_output, weight)
// separately: its gradients are a forward convolution and a weight gradient.
Tensor conv2d_backward_input_impl(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                                  const Conv2dParams& p) {
  const char* op = "conv2d_backward_input";
  FORGE_CHECK(weight.defined(), "[{}] weight is undefined", op);
  const cpu::Conv2dGeometry g = make_geometry(op, input_shape, weight.shape(), p);
  check_grad_output(op, grad_output, g);
  Tensor go = as_float_contiguous(grad_output);
  Tensor w = as_float_contiguous(weight);
  Tensor out = empty(input_shape);
  cpu::conv2d_backward_data(g, go.data<float>(), w.data<float>(), out.data<float>());
  if (needs_grad({&grad_output, &weight})) {
    record(op, {grad_output, weight}, out, [grad_output, weight, p](const Tensors& grads) {
      const Tensor& gg = grads[0];  // shaped like the forward input
      Tensor g_go = Tensor();
      if (grad_output.requires_grad()) {
        g_go = conv2d_run(make_geometry("conv2d", gg.shape(), weight.shape(), p), gg, weight, Tensor(), p);
      }
      Tensor g_w = weight.requires_grad() ? conv2d_backward_weight_impl(grad_output, gg, weight.shape(), p) : Tensor();
      return Tensors{g_go, g_w};
    });
  }
  return out;
}

// d weight: bilinear in (grad_output, input) like the forward convolution itself.
Tensor conv2d_backward_weight_impl(const Tensor& grad_output, const Tensor& input, const Shape& weight_shape,
                                   const Conv2dParams& p) {
  const char* op = "conv2d_backward_weight";
  FORGE_CHECK(input.defined(), "[{}] input is undefined", op);
  const cpu::Conv2dGeometry g = make_geometry(op, input.shape(), weight_shape, p);
  check_grad_output(op, grad_output, g);
  Tensor go = as_float_contiguous(grad_output);
  Tensor x = as_float_contiguous(input);
  Tensor out = empty(weight_shape);
  cpu::conv2d_backward_weights(g, x.data<float>(), go.data<float>(), out.data<float>());
  if (needs_grad({&grad_output, &input})) {
    record(op, {grad_output, input}, out, [grad_output, input, p](const Tensors& grads) {
      const Tensor& gg = grads[0];  // shaped like the weight
      Tensor g_go = Tensor();
      if (grad_output.requires_grad()) {
        g_go = conv2d_run(make_geometry("conv2d", input.shape(), gg.shape(), p), input, gg, Tensor(), p);
      }
      Tensor g_x = input.requires_grad() ? conv2d_backward_input_impl(grad_output, gg, input.shape(), p) : Tensor();
      return Tensors{g_go, g_x};
    });
  }
  return out;
}

void check_defined(const char* op, const Tensor& input, const Tensor& weight) {
  FORGE_CHECK(input.defined(), "[{}] input is undefined", op);
  FORGE_CHECK(weight.defined(), "[{}] weight is undefined", op);
}

}  // namespace

namespace {

Tensor conv1d_any(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, const Padding& padding,
                  int64_t dilation, int64_t groups, bool relu, const char* op) {
  check_defined(op, input, weight);
  const cpu::Conv2dGeometry g = make_geometry(op, input.shape(), weight.shape(), {stride}, padding, {dilation}, groups);
  check_bias(op, bias, g.out_channels);
  Conv2dParams p;
  p.stride = {1, stride};
  p.dilation = {1, dilation};
  p.groups = groups;
  p.padding = padding.kind == Padding::Kind::kExplicit
                  ? Padding::explicit_({0, detail::explicit_pad(op, padding, 0, 1)})
                  : padding;
  return conv2d_run(g, input.unsqueeze(2), weight.unsqueeze(2), bias, p, relu).squeeze(2);
}

Tensor conv2d_any(const Tensor& input, const Tensor& weight, const Tensor& bias, std::array<int64_t, 2> stride,
                  const Padding& padding, std::array<int64_t, 2> dilation, int64_t groups, bool relu, const char* op) {
  check_defined(op, input, weight);
  const Conv2dParams p{stride, padding, dilation, groups};
  const cpu::Conv2dGeometry g = make_geometry(op, input.shape(), weight.shape(), p);
  check_bias(op, bias, g.out_channels);
  return conv2d_run(g, input, weight, bias, p, relu);
}

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride, const Padding& padding,
              int64_t dilation, int64_t groups) {
  return conv1d_any(input, weight, bias, stride, padding, dilation, groups, false, "conv1d");
}

Tensor conv1d_relu(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
                   const Padding& padding, int64_t dilation, int64_t groups) {
  return conv1d_any(input, weight, bias, stride, padding, dilation, groups, true, "conv1d_relu");
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, std::array<int64_t, 2> stride,
              const Padding& padding, std::array<int64_t, 2> dilation, int64_t groups) {
  return conv2d_any(input, weight, bias, stride, padding, dilation, groups, false, "conv2d");
}

Tensor conv2d_relu(const Tensor& input, const Tensor& weight, const Tensor& bias, std::array<int64_t, 2> stride,
                   const Padding& padding, std::array<int64_t, 2> dilation, int64_t groups) {
  return conv2d_any(input, weight, bias, stride, padding, dilation, groups, true, "conv2d_relu");
}

Tensor conv2d_relu_max_pool2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                              std::array<int64_t, 2> stride, const Padding& padding, std::array<int64_t, 2> dilation,
                              int64_t groups, std::array<int64_t, 2> pool_kernel, std::array<int64_t, 2> pool_stride) {
  const char* op = "conv2d_relu_max_pool2d";
  check_defined(op, input, weight);
  const Conv2dParams p{stride, padding, dilation, groups};
  cpu::Conv2dGeometry g = make_geometry(op, input.shape(), weight.shape(), p);
  check_bias(op, bias, g.out_channels);
  for (int i = 0; i < 2; ++i) {
    FORGE_CHECK(pool_kernel[i] >= 1 && pool_stride[i] >= 0, "[{}] pool kernel {} and stride {} must be positive", op,
                shape_str({pool_kernel[0], pool_kernel[1]}), shape_str({pool_stride[0], pool_stride[1]}));
    if (pool_stride[i] == 0) pool_stride[i] = pool_kernel[i];
  }
  const bool poolable = g.out_h >= pool_kernel[0] && g.out_w >= pool_kernel[1] &&
                        pool_kernel[0] * pool_kernel[1] <= cpu::kNoGradient;
  const int64_t block = bias.defined() && poolable ? cpu::conv2d_native_block(g) : 0;
  if (block == 0 || g.out_channels % block != 0) {
    return max_pool2d(conv2d_run(g, input, weight, bias, p, true), pool_kernel, pool_stride);
  }
  g.dst_block = block;
  cpu::Pool2dGeometry pg;
  pg.planes = g.batch * g.out_channels;
  pg.in_h = g.out_h;
  pg.in_w = g.out_w;
  pg.kernel_h = pool_kernel[0];
  pg.kernel_w = pool_kernel[1];
  pg.stride_h = pool_stride[0];
  pg.stride_w = pool_stride[1];
  pg.out_h = (g.out_h - pool_kernel[0]) / pool_stride[0] + 1;
  pg.out_w = (g.out_w - pool_kernel[1]) / pool_stride[1] + 1;

  Tensor x = as_float_contiguous(input);
  Tensor w = as_float_contiguous(weight);
  Tensor b = as_float_contiguous(bias);
  // The relu'd convolution output in the blocked layout (shaped [N, C, H, W], never exposed).
  Tensor y = empty(output_shape(g));
  cpu::conv2d_forward(g, x.data<float>(), w.data<float>(), b.data<float>(), y.data<float>(), true);
  Tensor out = empty({g.batch, g.out_channels, pg.out_h, pg.out_w});
  Tensor where = empty({out.numel()}, DType::kU8);  // window offset of each maximum (pool_blocked.h)
  cpu::max_pool2d_blocked_forward(pg, g.out_channels, block, y.data<float>(), out.data<float>(),
                                  where.data<uint8_t>());
  if (needs_grad({&input, &weight, &bias})) {
    const Tensor x_f32 = x.detach();
    record(op, {input, weight, bias}, out, [input, x_f32, weight, bias, p, g, pg, y, where](const Tensors& grads) {
      if (grad_enabled()) {  // a graph of the backward is being built: the composed, differentiable form
        Tensor y_plain = empty(y.shape());
        cpu::blocked_to_plain(g.batch, g.out_channels, g.out_h * g.out_w, g.dst_block, y.data<float>(),
                              y_plain.data<float>());
        Tensor indices = empty(grads[0].shape(), DType::kI64);
        cpu::blocked_window_to_plane_indices(pg, g.out_channels, g.dst_block, where.data<uint8_t>(),
                                             indices.data<int64_t>());
        const Tensor go = mul(max_unpool2d(grads[0], indices, y.shape()), gt(y_plain, 0.0));
        Tensor gx = input.requires_grad() ? conv2d_backward_input_impl(go, weight, input.shape(), p) : Tensor();
        auto [gw, gb] = weight_and_bias_grads(go, input, x_f32, weight, bias, p);
        return Tensors{gx, gw, gb};
      }
      Tensor go = as_float_contiguous(grads[0]);
      Tensor diff = empty(y.shape());  // blocked like y
      cpu::max_pool2d_blocked_backward_relu(pg, g.out_channels, g.dst_block, go.data<float>(), where.data<uint8_t>(),
                                            diff.data<float>());
      Tensor gx, gw, gb;
      if (input.requires_grad()) {
        Tensor wf = as_float_contiguous(weight);
        gx = empty(input.shape());
        cpu::conv2d_backward_data(g, diff.data<float>(), wf.data<float>(), gx.data<float>());
      }
      if (weight.requires_grad() || bias.requires_grad()) {
        Tensor dw = empty(weight.shape());
        Tensor db = empty(bias.shape());
        cpu::conv2d_backward_weights(g, x_f32.data<float>(), diff.data<float>(), dw.data<float>(), db.data<float>());
        if (weight.requires_grad()) gw = dw;
        if (bias.requires_grad()) gb = db;
      }
      return Tensors{gx, gw, gb};
    });
  }
  return out;
}

Tensor conv1d_relu_max_pool1d(const Tensor& input, const Tensor& weight, const Tensor& bias, int64_t stride,
                              const Padding& padding, int64_t dilation, int64_t groups, int64_t pool,
                              int64_t pool_stride) {
  const char* op = "conv1d_relu_max_pool1d";
  check_defined(op, input, weight);
  const cpu::Conv2dGeometry g = make_geometry(op, input.shape(), weight.shape(), {stride}, padding, {dilation}, groups);
  check_bias(op, bias, g.out_channels);
  const Padding p2 = padding.kind == Padding::Kind::kExplicit
                         ? Padding::explicit_({0, detail::explicit_pad(op, padding, 0, 1)})
                         : padding;
  return conv2d_relu_max_pool2d(input.unsqueeze(2), weight.unsqueeze(2), bias, {1, stride}, p2, {1, dilation}, groups,
                                {1, pool}, {1, pool_stride})
      .squeeze(2);
}

Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight, const Shape& input_shape,
                             std::array<int64_t, 2> stride, const Padding& padding, std::array<int64_t, 2> dilation,
                             int64_t groups) {
  return conv2d_backward_input_impl(grad_output, weight, input_shape, Conv2dParams{stride, padding, dilation, groups});
}

Tensor conv2d_backward_weight(const Tensor& grad_output, const Tensor& input, const Shape& weight_shape,
                              std::array<int64_t, 2> stride, const Padding& padding, std::array<int64_t, 2> dilation,
                              int64_t groups) {
  return conv2d_backward_weight_impl(grad_output, input, weight_shape, Conv2dParams{stride, padding, dilation, groups});
}

}  // namespace forge
