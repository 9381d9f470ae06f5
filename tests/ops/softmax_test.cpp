// Gradient checks, values and errors for ops/softmax.
#include <cmath>
#include <limits>

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

TEST(Softmax, MaskedEntriesAndWideRangeMatchDoubleReference) {
  const float inf = std::numeric_limits<float>::infinity();
  Tensor masked = from_vector({0.5f, -inf, 1.5f, -inf}, {1, 4});
  const auto p = softmax(masked).to_vector<double>();
  EXPECT_EQ(p[1], 0.0);
  EXPECT_EQ(p[3], 0.0);
  EXPECT_NEAR(p[0], 1.0 / (1.0 + std::exp(1.0)), 1e-7);
  EXPECT_EQ(log_softmax(masked).to_vector<double>()[1], -inf);
  // Logit gaps spanning the whole float exp range, row lengths that leave vector tails.
  for (int64_t n : {1, 7, 16, 33}) {
    std::vector<float> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = -90.0f + 2.9f * static_cast<float>(i);
    const auto y = softmax(from_vector(v, {1, n})).to_vector<double>();
    const auto ly = log_softmax(from_vector(v, {n, 1}), 0).to_vector<double>();
    double total = 0;
    for (float e : v) total += std::exp(static_cast<double>(e) - v.back());
    for (int64_t i = 0; i < n; ++i) {
      const double ref = std::exp(static_cast<double>(v[static_cast<size_t>(i)]) - v.back()) / total;
      if (ref > 1e-30) {
        // x - max rounds in float32 by up to half an ulp of |x - max|: relative error ~6e-8 * |log(ref)|.
        EXPECT_NEAR(y[static_cast<size_t>(i)], ref, ref * (1e-6 + 1.2e-7 * std::fabs(std::log(ref)))) << n << " " << i;
      }
      EXPECT_NEAR(ly[static_cast<size_t>(i)], std::log(ref), 1e-5 * std::max(1.0, std::fabs(std::log(ref))));
    }
  }
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
