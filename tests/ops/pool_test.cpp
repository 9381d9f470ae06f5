// Pooling: hand-checked values (padding excluded from averages, TF "same" geometry),
// finite-difference gradients including second order, argument errors.
#include "ops/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "test_util.h"

namespace forge {
namespace {

using test::grad_ok;

// Distinct values 0.1 apart in shuffled order: a finite-difference step never changes which
// element is a window's maximum.
Tensor distinct_leaf(const Shape& shape, uint64_t seed) {
  const int64_t n = numel_of(shape);
  std::vector<float> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = 0.1f * static_cast<float>(i - n / 2);
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(gen.uniform() * static_cast<double>(i + 1)) % (i + 1);
    std::swap(values[static_cast<size_t>(i)], values[static_cast<size_t>(j)]);
  }
  Tensor t = from_vector(values, shape);
  t.set_requires_grad(true);
  return t;
}

TEST(Pool, HandComputedValues) {
  // 0..8 as 3x3
  Tensor x = arange(0, 9).reshape({1, 1, 3, 3});
  EXPECT_EQ(max_pool2d(x, {2, 2}).to_vector<float>(), (std::vector<float>{4}));
  EXPECT_EQ(max_pool2d(x, {2, 2}, {1, 1}).to_vector<float>(), (std::vector<float>{4, 5, 7, 8}));
  // same, stride 2 (default = kernel): out 2x2, pad 1 at the bottom/right only
  EXPECT_EQ(max_pool2d(x, {2, 2}, {0, 0}, Padding::same()).to_vector<float>(), (std::vector<float>{4, 5, 7, 8}));
  // averages exclude the padding: windows {0,1,3,4}, {2,5}, {6,7}, {8}
  EXPECT_EQ(avg_pool2d(x, {2, 2}, {0, 0}, Padding::same()).to_vector<float>(), (std::vector<float>{2, 3.5, 6.5, 8}));
  // explicit symmetric padding 1, stride 2: windows {0}, {1,2}, {3,6}, {4,5,7,8}
  EXPECT_EQ(avg_pool2d(x, {2, 2}, {2, 2}, Padding::explicit_({1})).to_vector<float>(),
            (std::vector<float>{0, 1.5, 4.5, 6}));
  Tensor l = from_vector({3.f, -1.f, 2.f, 7.f, 5.f}, {1, 1, 5});
  EXPECT_EQ(max_pool1d(l, 2).to_vector<float>(), (std::vector<float>{3, 7}));
  EXPECT_EQ(max_pool1d(l, 2, 0, Padding::same()).to_vector<float>(), (std::vector<float>{3, 7, 5}));
  EXPECT_EQ(avg_pool1d(l, 3, 1, Padding::same()).to_vector<float>(),
            (std::vector<float>{1, 4.f / 3, 8.f / 3, 14.f / 3, 6}));
  EXPECT_EQ(global_max_pool1d(l).to_vector<float>(), (std::vector<float>{7}));
  EXPECT_EQ(global_avg_pool2d(x).shape(), (Shape{1, 1}));
  EXPECT_EQ(global_avg_pool2d(x).item(), 4.0);
  EXPECT_EQ(global_max_pool2d(x).item(), 8.0);
  EXPECT_EQ(global_avg_pool1d(l).item(), 3.2f);
}

TEST(Pool, MaxPoolPropagatesNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = from_vector({1.f, nan, 5.f, 2.f, 3.f, 0.f}, {1, 1, 6});
  x.set_requires_grad(true);
  const auto y = max_pool1d(x, 3).to_vector<float>();
  EXPECT_TRUE(std::isnan(y[0]));
  EXPECT_EQ(y[1], 3.f);
  sum(max_pool1d(x, 3)).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0, 1, 0, 0, 1, 0}));
}

TEST(Pool, MaxPoolGradientGoesToFirstMaximumAndAccumulates) {
  Tensor x = from_vector({1.f, 5.f, 5.f, 2.f}, {1, 1, 4});
  x.set_requires_grad(true);
  // overlapping windows [1,5], [5,5], [5,2]: first maxima are index 1, 1, 2
  sum(max_pool1d(x, 2, 1)).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{0, 2, 1, 0}));
}

TEST(Pool, GradcheckMax) {
  Tensor x2 = distinct_leaf({2, 3, 7, 6}, 1);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return max_pool2d(t[0], {2, 2}); }, {x2}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return max_pool2d(t[0], {3, 2}, {2, 1}, Padding::same()); }, {x2}));
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        return max_pool2d(t[0], {3, 3}, {2, 2}, Padding::explicit_({1}));
      },
      {x2}));
  Tensor x1 = distinct_leaf({2, 3, 9}, 2);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return max_pool1d(t[0], 3); }, {x1}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return max_pool1d(t[0], 2, 2, Padding::same()); }, {x1}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return global_max_pool1d(t[0]); }, {x1}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return global_max_pool2d(t[0]); }, {x2}));
}

TEST(Pool, GradcheckAvg) {
  Tensor x2 = test::randn_leaf({2, 3, 7, 6}, 3);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return avg_pool2d(t[0], {2, 2}); }, {x2}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return avg_pool2d(t[0], {3, 2}, {2, 1}, Padding::same()); }, {x2}));
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        return avg_pool2d(t[0], {3, 3}, {2, 2}, Padding::explicit_({1}));
      },
      {x2}));
  Tensor x1 = test::randn_leaf({2, 3, 9}, 4);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return avg_pool1d(t[0], 3, 2, Padding::same()); }, {x1}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return global_avg_pool1d(t[0]); }, {x1}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return global_avg_pool2d(t[0]); }, {x2}));
}

// Gradients of gradients: the pooling backward rules are themselves differentiable ops.
// Locally pool(x) = P x with P linear (fixed windows / argmax positions), so for
// L = sum(pool(x)^2) the gradient is 2 P^T P x and d(grad . v)/dx = 2 P^T P v.
TEST(Pool, SecondOrder) {
  for (bool is_max : {true, false}) {
    auto pool = [is_max](const Tensor& t) {
      return is_max ? max_pool2d(t, {2, 2}, {1, 1}, Padding::same()) : avg_pool2d(t, {3, 2}, {2, 1}, Padding::same());
    };
    Tensor x = distinct_leaf({1, 2, 5, 5}, 5);
    Tensor v = test::randn_leaf({1, 2, 5, 5}, 6).detach();
    sum(square(pool(x))).backward(Tensor(), true, true);
    Tensor gx = x.grad();
    ASSERT_TRUE(gx.requires_grad()) << is_max;
    x.zero_grad();
    sum(mul(gx, v)).backward();
    Tensor second = x.grad();
    x.zero_grad();
    // P v by a tiny exact-in-binary step (does not move any argmax), then 2 P^T (P v) by first-order backward.
    const double step = 1.0 / 1024;
    Tensor pv = div(sub(pool(add(x.detach(), mul(v, step))), pool(x.detach())), step).detach();
    sum(mul(pool(x), mul(pv, 2.0))).backward();
    EXPECT_TRUE(test::all_close(second, x.grad(), 1e-3, 1e-3)) << (is_max ? "max" : "avg");
    x.zero_grad();
  }
}

TEST(Pool, Errors) {
  Tensor x = zeros({2, 3, 8, 8});
  EXPECT_THROW_MSG(max_pool2d(zeros({3, 8, 8}), {2, 2}), "[max_pool2d] input must be 4-d (N,C,H,W), got (3,8,8)");
  EXPECT_THROW_MSG(avg_pool1d(x, 2), "[avg_pool1d] input must be 3-d (N,C,L), got (2,3,8,8)");
  EXPECT_THROW_MSG(max_pool2d(x, {9, 2}), "[max_pool2d] kernel height 9 is larger than the padded input height 8");
  EXPECT_THROW_MSG(max_pool1d(zeros({1, 1, 3}), 4),
                   "[max_pool1d] kernel length 4 is larger than the padded input length 3");
  EXPECT_THROW_MSG(avg_pool2d(x, {0, 2}), "[avg_pool2d] kernel size must be positive, got (0,2)");
  EXPECT_THROW_MSG(avg_pool2d(x, {2, 2}, {-1, 1}),
                   "[avg_pool2d] stride must be positive (or 0 for stride = kernel), got (-1,1)");
  EXPECT_THROW_MSG(max_pool2d(x, {2, 2}, {0, 0}, Padding::explicit_({2})),
                   "[max_pool2d] padding 2 must be at most half the kernel size 2");
  EXPECT_THROW_MSG(global_avg_pool2d(zeros({2, 3, 4})), "[global_avg_pool2d] input must be 4-d (N,C,H,W), got (2,3,4)");
  EXPECT_THROW_MSG(global_max_pool1d(x), "[global_max_pool1d] input must be 3-d (N,C,L), got (2,3,8,8)");
}

}  // namespace
}  // namespace forge
