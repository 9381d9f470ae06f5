// Gradient checks, values and errors for ops/softmax.
#include <cmath>

#include "ops/softmax.h"
#include "test_util.h"

namespace forge {
namespace {

using test::grad_ok;
using test::randn_leaf;

TEST(Softmax, GradcheckEveryAxis) {
  Tensor x = randn_leaf({3, 4, 5}, 1);
  for (int64_t axis : {-1, 0, 1, 2}) {
    EXPECT_TRUE(grad_ok([axis](const Tensors& in) { return softmax(in[0], axis); }, {x})) << axis;
    EXPECT_TRUE(grad_ok([axis](const Tensors& in) { return log_softmax(in[0], axis); }, {x})) << axis;
  }
}

TEST(Softmax, GradcheckStridedInput) {
  Tensor x = randn_leaf({5, 4}, 2);
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return softmax(in[0].t(), -1); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return log_softmax(in[0].t(), 0); }, {x}));
}

TEST(Softmax, RowsSumToOneAndLargeMagnitudesStayFinite) {
  Tensor x = from_vector({1000.f, 1001.f, 999.f, -1000.f, 0.f, 1000.f}, {2, 3});
  Tensor y = softmax(x, 1);
  const auto v = y.to_vector<double>();
  EXPECT_NEAR(v[0] + v[1] + v[2], 1.0, 1e-6);
  EXPECT_NEAR(v[3] + v[4] + v[5], 1.0, 1e-6);
  EXPECT_NEAR(v[5], 1.0, 1e-6);
  const auto l = log_softmax(x, 1).to_vector<double>();
  for (double e : l) EXPECT_TRUE(std::isfinite(e));
  EXPECT_NEAR(l[3], -2000.0, 1e-3);
  // log_softmax == log(softmax) where softmax does not underflow
  EXPECT_NEAR(l[1], std::log(v[1]), 1e-6);
}

TEST(Softmax, ZeroDimensionalIsOne) {
  EXPECT_EQ(softmax(scalar(3.0)).item(), 1.0);
  EXPECT_EQ(log_softmax(scalar(3.0)).item(), 0.0);
}

TEST(Softmax, Errors) {
  EXPECT_THROW_MSG(softmax(zeros({2, 3}), 2), "[softmax] axis 2 out of range");
  EXPECT_THROW_MSG(log_softmax(zeros({2, 3}), -3), "[log_softmax] axis -3 out of range");
  EXPECT_THROW_MSG(softmax(Tensor()), "[softmax] input tensor is undefined");
}

}  // namespace
}  // namespace forge
