// Runs examples/two_layer_mlp's autograd-vs-by-hand check on its synthetic batch.
#include "../../examples/two_layer_mlp.h"

#include <sstream>

#include "test_util.h"

namespace forge {
namespace {

TEST(ExampleTwoLayerMlp, AutogradMatchesByHandOnSyntheticBatch) {
  Tensor x, labels;
  example::synthetic_batch(64, 7, x, labels);
  Generator gen(42);
  const auto model = models::TwoLayerMlp::init(784, 128, 10, gen);
  std::ostringstream log;
  const auto result = example::compare_autograd_and_manual(model, x, labels, 3, 0.01, log);
  EXPECT_LE(result.worst_relative, 1e-4) << log.str();
  ASSERT_EQ(result.losses_autograd.size(), 3u);
  // SGD on one batch with a small step must lower the loss each time.
  EXPECT_LT(result.losses_autograd[2], result.losses_autograd[1]);
  EXPECT_LT(result.losses_autograd[1], result.losses_autograd[0]);
  EXPECT_NE(log.str().find("dw1 (128,784)"), std::string::npos) << log.str();
}

TEST(ExampleTwoLayerMlp, DetectsAWrongGradient) {
  const Tensor g = from_vector({1.f, -2.f, 4.f}, {3});
  EXPECT_EQ(example::relative_difference(g, g), 0.0);
  EXPECT_NEAR(example::relative_difference(g * 1.001, g), 1e-3, 1e-6);
  EXPECT_EQ(example::relative_difference(zeros({2}), zeros({2})), 0.0);
}

}  // namespace
}  // namespace forge
