// The convolution fast paths: fused conv+bias+relu (gradchecks, equality with the composition,
// the one-pass weight+bias gradient, errors) and the 2x2 / stride-2 max-pool kernel's tie and
// NaN rules.
#include <cmath>
#include <limits>

#include "ops/conv.h"
#include "ops/pool.h"
#include "test_util.h"

namespace forge {
namespace {

using test::all_close;
using test::grad_ok;
using test::randn_leaf;

TEST(ConvRelu, GradcheckConv2dAndConv1d) {
  Tensor x = randn_leaf({2, 3, 6, 5}, 1), w = randn_leaf({4, 3, 3, 3}, 2), b = randn_leaf({4}, 3);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return conv2d_relu(t[0], t[1], t[2]); }, {x, w, b}));
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        return conv2d_relu(t[0], t[1], t[2], {2, 1}, Padding::same());
      },
      {x, w, b}));
  Tensor x1 = randn_leaf({2, 3, 9}, 4), w1 = randn_leaf({5, 3, 3}, 5), b1 = randn_leaf({5}, 6);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return conv1d_relu(t[0], t[1], t[2]); }, {x1, w1, b1}));
}

TEST(ConvRelu, SameValuesAndGradientsAsTheComposition) {
  Tensor x = randn_leaf({3, 4, 9, 9}, 7), w = randn_leaf({8, 4, 3, 3}, 8), b = randn_leaf({8}, 9);
  Tensor fused = conv2d_relu(x, w, b);
  Tensor composed = relu(conv2d(x, w, b));
  EXPECT_TRUE(all_close(fused, composed));
  // The plain backward takes the fused paths (one-pass relu mask, weight+bias gradient in one
  // oneDNN pass); compare with the composed rule's gradients.
  Tensor g = randn_leaf({3, 8, 7, 7}, 10).detach();
  auto grads_of = [&](const Tensor& y) {
    for (const Tensor* t : {&x, &w, &b}) t->zero_grad();
    y.backward(g);
    return Tensors{x.grad(), w.grad(), b.grad()};
  };
  Tensors fused_grads = grads_of(fused);
  Tensors composed_grads = grads_of(composed);
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(all_close(fused_grads[i], composed_grads[i], 1e-4, 1e-5)) << i;
}

TEST(ConvRelu, Errors) {
  Tensor w = randn_leaf({4, 3, 3, 3}, 1);
  EXPECT_THROW_MSG(conv2d_relu(randn_leaf({3, 6, 6}, 2), w), "[conv2d_relu] input must be 4-d (N,C,H,W), got (3,6,6)");
  EXPECT_THROW_MSG(conv2d_relu(randn_leaf({1, 2, 6, 6}, 2), w), "[conv2d_relu] input has 2 channels but weight");
  EXPECT_THROW_MSG(conv2d_relu(randn_leaf({1, 3, 6, 6}, 2), w, randn_leaf({5}, 3)),
                   "[conv2d_relu] bias must have shape (4)");
  EXPECT_THROW_MSG(conv1d_relu(randn_leaf({1, 3, 6}, 2), randn_leaf({4, 3, 9}, 3)), "[conv1d_relu]");
}

TEST(MaxPool2x2, TiesTakeTheFirstPositionAndNaNPropagates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Window 0: all equal (gradient to the top-left); window 1: NaN second (NaN wins);
  // window 2: max bottom-right; window 3: the maximum appears three times (the first, top-left, wins).
  Tensor x = from_vector<float>({1, 1, 2, nan, 5, 0, 3, 3,  //
                                 1, 1, 0, 1, 0, 9, 1, 3},
                                {1, 1, 2, 8})
                 .set_requires_grad(true);
  Tensor y = max_pool2d(x, {2, 2});
  const float* p = y.data<float>();
  EXPECT_EQ(p[0], 1.0f);
  EXPECT_TRUE(std::isnan(p[1]));
  EXPECT_EQ(p[2], 9.0f);
  EXPECT_EQ(p[3], 3.0f);
  y.backward(ones(y.shape()));
  const std::vector<float> expected{1, 0, 0, 1, 0, 0, 1, 0,  //
                                    0, 0, 0, 0, 0, 1, 0, 0};
  EXPECT_TRUE(all_close(x.grad(), from_vector(expected, {1, 1, 2, 8})));
}

}  // namespace
}  // namespace forge
