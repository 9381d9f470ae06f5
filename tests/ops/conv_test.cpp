// conv1d / conv2d: finite-difference gradients (first and second order), hand-checked
// values, "same" padding geometry, argument errors. PyTorch parity is in golden/conv_test.cpp.
#include "ops/conv.h"

#include "backend/cpu/dnnl_conv.h"
#include "test_util.h"

namespace forge {
namespace {

using test::grad_ok;
using test::randn_leaf;

TEST(Conv2d, HandComputedValues) {
  // 1x1x3x3 input 0..8, 2x2 kernel of ones: each output is the sum of a 2x2 window.
  Tensor x = arange(0, 9).reshape({1, 1, 3, 3});
  Tensor w = ones({1, 1, 2, 2});
  EXPECT_EQ(conv2d(x, w).to_vector<float>(), (std::vector<float>{8, 12, 20, 24}));
  // bias is added per output channel
  Tensor w2 = ones({2, 1, 2, 2});
  Tensor b = from_vector({1.f, -1.f}, {2});
  EXPECT_EQ(conv2d(x, w2, b).to_vector<float>(), (std::vector<float>{9, 13, 21, 25, 7, 11, 19, 23}));
  // "same", stride 1, 2x2 kernel: total pad 1, all of it at the bottom/right (TF semantics).
  EXPECT_EQ(conv2d(x, w, Tensor(), {1, 1}, Padding::same()).to_vector<float>(),
            (std::vector<float>{8, 12, 7, 20, 24, 13, 13, 15, 8}));
  // explicit symmetric padding 1 -> 4x4
  EXPECT_EQ(conv2d(x, w, Tensor(), {1, 1}, Padding::explicit_({1})).shape(), (Shape{1, 1, 4, 4}));
}

TEST(Conv2d, OutputShapes) {
  Tensor x = zeros({2, 4, 9, 10});
  Tensor w = zeros({6, 2, 3, 3});
  EXPECT_EQ(conv2d(x, w, Tensor(), {1, 1}, Padding::valid(), {1, 1}, 2).shape(), (Shape{2, 6, 7, 8}));
  EXPECT_EQ(conv2d(x, w, Tensor(), {2, 2}, Padding::same(), {1, 1}, 2).shape(), (Shape{2, 6, 5, 5}));
  EXPECT_EQ(conv2d(x, w, Tensor(), {2, 3}, Padding::valid(), {2, 2}, 2).shape(), (Shape{2, 6, 3, 2}));
  EXPECT_EQ(conv2d(x, w, Tensor(), {1, 1}, Padding::same(), {2, 3}, 2).shape(), (Shape{2, 6, 9, 10}));
  EXPECT_EQ(conv2d(x, w, Tensor(), {1, 2}, Padding::explicit_({1, 2}), {1, 1}, 2).shape(), (Shape{2, 6, 9, 6}));
  EXPECT_EQ(conv1d(zeros({3, 4, 11}), zeros({8, 4, 3}), Tensor(), 2, Padding::same()).shape(), (Shape{3, 8, 6}));
  EXPECT_EQ(conv1d(zeros({3, 4, 11}), zeros({8, 4, 3}), Tensor(), 1, Padding::valid(), 5).shape(), (Shape{3, 8, 1}));
}

TEST(Conv2d, GradcheckBasicWithBias) {
  Tensor x = randn_leaf({2, 3, 6, 5}, 1), w = randn_leaf({4, 3, 3, 3}, 2), b = randn_leaf({4}, 3);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return conv2d(t[0], t[1], t[2]); }, {x, w, b}));
}

TEST(Conv2d, GradcheckStride2SamePadding) {
  // 7x6 input, 3x3 kernel, stride 2, same: pads (1,1) on H and (0,1) on W (asymmetric).
  Tensor x = randn_leaf({2, 2, 7, 6}, 4), w = randn_leaf({3, 2, 3, 3}, 5), b = randn_leaf({3}, 6);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return conv2d(t[0], t[1], t[2], {2, 2}, Padding::same()); }, {x, w, b}));
  // stride leaves the last input rows uncovered under valid padding
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return conv2d(t[0], t[1], Tensor(), {2, 2}); }, {x, w}));
}

TEST(Conv2d, GradcheckDilationAndGroups) {
  Tensor x = randn_leaf({1, 4, 7, 7}, 7), w = randn_leaf({6, 2, 2, 3}, 8), b = randn_leaf({6}, 9);
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        return conv2d(t[0], t[1], t[2], {1, 1}, Padding::valid(), {2, 2}, 2);
      },
      {x, w, b}));
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        return conv2d(t[0], t[1], Tensor(), {1, 2}, Padding::same(), {2, 1}, 2);
      },
      {x, w}));
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        return conv2d(t[0], t[1], t[2], {2, 1}, Padding::explicit_({1, 2}), {1, 2}, 2);
      },
      {x, w, b}));
}

TEST(Conv1d, Gradcheck) {
  Tensor x = randn_leaf({2, 4, 9}, 10), w = randn_leaf({6, 2, 3}, 11), b = randn_leaf({6}, 12);
  Tensor w_dense = randn_leaf({6, 4, 3}, 19);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return conv1d(t[0], t[1], t[2]); }, {x, w_dense, b}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return conv1d(t[0], t[1], t[2], 2, Padding::same(), 1, 2); }, {x, w, b}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return conv1d(t[0], t[1], Tensor(), 1, Padding::same(), 2, 2); }, {x, w}));
  EXPECT_TRUE(
      grad_ok([](const Tensors& t) { return conv1d(t[0], t[1], t[2], 2, Padding::explicit_({2}), 1, 2); }, {x, w, b}));
}

// The gradient halves are differentiable ops themselves: checking their gradients checks
// conv2d's second derivatives.
TEST(Conv2d, GradcheckBackwardOps) {
  const std::array<int64_t, 2> stride{2, 1}, dilation{1, 2};
  const Padding pad = Padding::same();
  const Shape in_shape{2, 4, 6, 7}, w_shape{4, 2, 3, 2};
  // forward output shape: H ceil(6/2) = 3, W 7
  Tensor go = randn_leaf({2, 4, 3, 7}, 13), w = randn_leaf(w_shape, 14), x = randn_leaf(in_shape, 15);
  EXPECT_TRUE(
      grad_ok([&](const Tensors& t) { return conv2d_backward_input(t[0], t[1], in_shape, stride, pad, dilation, 2); },
              {go, w}));
  EXPECT_TRUE(
      grad_ok([&](const Tensors& t) { return conv2d_backward_weight(t[0], t[1], w_shape, stride, pad, dilation, 2); },
              {go, x}));
}

TEST(Conv2d, DoubleBackwardThroughGradient) {
  // backward(create_graph) yields a differentiable gradient: g(x, w) = d sum(y^2) / dx with
  // y = conv2d(x, w). Its own gradients must equal those of the same function written out
  // with the public backward op (which GradcheckBackwardOps checks against finite differences).
  Tensor x = randn_leaf({1, 2, 5, 5}, 16), w = randn_leaf({3, 2, 3, 3}, 17), v = randn_leaf({1, 2, 5, 5}, 18);
  Tensor y = conv2d(x, w, Tensor(), {2, 2}, Padding::same());
  sum(square(y)).backward(Tensor(), true, true);
  Tensor gx = x.grad();
  ASSERT_TRUE(gx.requires_grad());
  x.zero_grad();
  w.zero_grad();
  sum(mul(gx, v.detach())).backward();
  Tensor gxx = x.grad(), gxw = w.grad();
  x.zero_grad();
  w.zero_grad();
  auto explicit_fn = [&](const Tensors& t) {
    Tensor yy = conv2d(t[0], t[1], Tensor(), {2, 2}, Padding::same());
    return conv2d_backward_input(mul(yy, 2.0), t[1], t[0].shape(), {2, 2}, Padding::same(), {1, 1}, 1);
  };
  EXPECT_TRUE(test::all_close(gx, explicit_fn({x, w}), 1e-5, 1e-5));
  sum(mul(explicit_fn({x, w}), v.detach())).backward();
  EXPECT_TRUE(test::all_close(gxx, x.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(test::all_close(gxw, w.grad(), 1e-5, 1e-5));
  EXPECT_TRUE(grad_ok(explicit_fn, {x, w}));
}

TEST(Conv2d, LargeBatchRunsAndCachesPrimitives) {
  Generator gen(3);
  Tensor x = randn({64, 32, 28, 28}, 0, 1, &gen);
  Tensor w = randn({32, 32, 3, 3}, 0, 0.1, &gen);
  Tensor b = zeros({32});
  Tensor y = conv2d(x, w, b, {1, 1}, Padding::same());
  EXPECT_EQ(y.shape(), (Shape{64, 32, 28, 28}));
  // spot-check one output against a direct sum
  const auto xv = x.to_vector<float>(), wv = w.to_vector<float>();
  double expected = 0;
  const int64_t n = 5, o = 7, oh = 10, ow = 0;  // ow = 0 touches the left padding
  for (int64_t c = 0; c < 32; ++c) {
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t j = 0; j < 3; ++j) {
        const int64_t h = oh - 1 + i, wi = ow - 1 + j;
        if (h < 0 || h >= 28 || wi < 0 || wi >= 28) continue;
        expected += static_cast<double>(xv[static_cast<size_t>(((n * 32 + c) * 28 + h) * 28 + wi)]) *
                    wv[static_cast<size_t>(((o * 32 + c) * 3 + i) * 3 + j)];
      }
    }
  }
  EXPECT_NEAR(y.select(0, n).select(0, o).select(0, oh).select(0, ow).item(), expected, 1e-4);
  const int64_t cached = cpu::conv2d_cache_size();
  conv2d(x, w, b, {1, 1}, Padding::same());
  EXPECT_EQ(cpu::conv2d_cache_size(), cached);  // same geometry: no new primitive
}

TEST(Conv2d, Errors) {
  Tensor x = zeros({2, 3, 8, 8});
  Tensor w = zeros({32, 1, 3, 3});
  EXPECT_THROW_MSG(conv2d(x, w), "[conv2d] input has 3 channels but weight (32,1,3,3) expects 1 (groups=1)");
  EXPECT_THROW_MSG(conv2d(zeros({3, 32, 32}), w), "[conv2d] input must be 4-d (N,C,H,W), got (3,32,32)");
  EXPECT_THROW_MSG(conv2d(x, zeros({32, 3, 3})), "[conv2d] weight must be 4-d");
  EXPECT_THROW_MSG(conv2d(zeros({2, 4, 8, 8}), zeros({6, 1, 3, 3}), Tensor(), {1, 1}, Padding::valid(), {1, 1}, 4),
                   "[conv2d] groups=4 must divide the 6 output channels");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 1, 3, 3}), Tensor(), {1, 1}, Padding::valid(), {1, 1}, 2),
                   "[conv2d] groups=2 must divide the input's 3 channels");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {1, 1}, Padding::valid(), {1, 1}, 0),
                   "[conv2d] groups must be positive, got 0");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 3, 9, 3})), "[conv2d] kernel height 9 is larger than the padded input height 8");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {1, 1}, Padding::valid(), {1, 4}),
                   "[conv2d] kernel width 3 with dilation 4 spans 9, more than the padded input width 8");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {0, 1}), "[conv2d] stride must be positive, got (0,1)");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {1, 1}, Padding::valid(), {1, -1}),
                   "[conv2d] dilation must be positive, got (1,-1)");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 3, 3, 3}), zeros({5})), "[conv2d] bias must have shape (4)");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {1, 1}, Padding::explicit_({1, 1, 1})),
                   "[conv2d] explicit padding needs 2 value(s)");
  EXPECT_THROW_MSG(conv2d(x, zeros({4, 3, 3, 3}), Tensor(), {1, 1}, Padding::explicit_({-1})),
                   "[conv2d] padding must be non-negative, got -1");
  EXPECT_THROW_MSG(conv1d(zeros({2, 3, 8}), zeros({4, 2, 3})),
                   "[conv1d] input has 3 channels but weight (4,2,3) expects 2");
  EXPECT_THROW_MSG(conv1d(zeros({2, 3, 2}), zeros({4, 3, 3})),
                   "[conv1d] kernel length 3 is larger than the padded input length 2");
  EXPECT_THROW_MSG(conv1d(zeros({2, 3, 8, 8}), zeros({4, 3, 3})), "[conv1d] input must be 3-d (N,C,L), got (2,3,8,8)");
  EXPECT_THROW_MSG(conv1d(zeros({2, 3, 8}), zeros({4, 3, 3}), Tensor(), 1, Padding::explicit_({1, 1})),
                   "[conv1d] explicit padding needs 1 value(s)");
  EXPECT_THROW_MSG(conv2d_backward_input(zeros({2, 4, 5, 5}), zeros({4, 3, 3, 3}), {2, 3, 8, 8}, {1, 1},
                                         Padding::valid(), {1, 1}, 1),
                   "[conv2d_backward_input] grad_output has shape (2,4,5,5) but the convolution produces (2,4,6,6)");
}

}  // namespace
}  // namespace forge
