// ops/dropout: mask statistics, determinism under a seed, and the gradient mask * scale.
#include "ops/dropout.h"
#include "test_util.h"

namespace forge {
namespace {

TEST(Dropout, MaskAppliedAndGradientIsMaskTimesScale) {
  const double p = 0.3;
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  Tensor x = test::randn_leaf({50, 40}, 1);
  Generator gen(42);
  Tensor y = dropout(x, p, true, &gen);
  y.backward(ones(y.shape()));
  const auto xv = x.to_vector<float>(), yv = y.to_vector<float>(), gv = x.grad().to_vector<float>();
  int64_t kept = 0;
  for (size_t i = 0; i < xv.size(); ++i) {
    if (yv[i] == 0.0f) {
      EXPECT_EQ(gv[i], 0.0f) << i;
    } else {
      ++kept;
      EXPECT_FLOAT_EQ(yv[i], xv[i] * scale) << i;
      EXPECT_FLOAT_EQ(gv[i], scale) << i;
    }
  }
  const double kept_fraction = static_cast<double>(kept) / static_cast<double>(xv.size());
  EXPECT_NEAR(kept_fraction, 1.0 - p, 0.03);
  // The same seed gives the same mask; another seed a different one.
  Generator same(42), other(43);
  EXPECT_TRUE(test::all_close(dropout(x.detach(), p, true, &same), y.detach(), 0, 0));
  EXPECT_FALSE(test::all_close(dropout(x.detach(), p, true, &other), y.detach(), 0, 0));
}

TEST(Dropout, IdentityWhenEvalOrZeroP) {
  Tensor x = test::randn_leaf({3, 4}, 2);
  EXPECT_TRUE(dropout(x, 0.5, false).is_same(x));
  EXPECT_TRUE(dropout(x, 0.0, true).is_same(x));
}

TEST(Dropout, GradcheckUnderFixedSeed) {
  Tensor x = test::randn_leaf({4, 5}, 3);
  EXPECT_TRUE(test::grad_ok(
      [](const Tensors& in) {
        Generator gen(7);  // the same mask on every evaluation
        return dropout(in[0], 0.4, true, &gen);
      },
      {x}));
}

TEST(Dropout, Errors) {
  EXPECT_THROW_MSG(dropout(zeros({2}), 1.0, true), "[dropout] p must be in [0, 1), got 1");
  EXPECT_THROW_MSG(dropout(zeros({2}), -0.1, true), "[dropout] p must be in [0, 1), got -0.1");
}

}  // namespace
}  // namespace forge
