// PyTorch parity for models/two_layer_mlp: cross-entropy, and the network's loss and gradients
// both through autograd and through the hand-written backward pass.
#include "models/two_layer_mlp.h"
#include "nn/loss.h"

#include "golden/golden.h"

namespace forge {
namespace {

TEST(GoldenTwoLayerMlp, CrossEntropy) {
  const auto& c = golden::get("two_layer_mlp", "cross_entropy");
  Tensor logits = c.input(0);
  EXPECT_TRUE(c.check(sparse_categorical_cross_entropy_with_logits(logits, c.get("in1")), {logits}));
}

TEST(GoldenTwoLayerMlp, Autograd) {
  const auto& c = golden::get("two_layer_mlp", "mlp");
  Tensors in = {c.input(0), c.input(1), c.input(2), c.input(3), c.input(4)};
  const models::TwoLayerMlp model{in[1], in[2], in[3], in[4]};
  EXPECT_TRUE(c.check(sparse_categorical_cross_entropy_with_logits(model.forward(in[0]), c.get("in5")), in));
}

TEST(GoldenTwoLayerMlp, ByHand) {
  const auto& c = golden::get("two_layer_mlp", "mlp");
  const models::TwoLayerMlp model{c.input(1), c.input(2), c.input(3), c.input(4)};
  const models::MlpGradients g = models::manual_gradients(model, c.input(0, false), c.get("in5"));
  EXPECT_TRUE(c.expect("out", scalar(g.loss)));
  // The golden gradients are of gout * loss.
  const double gout = c.get("gout").item();
  const Tensors grads = g.list();
  for (size_t i = 0; i < grads.size(); ++i) {
    EXPECT_TRUE(c.expect("grad" + std::to_string(i + 1), mul(grads[i], gout))) << "parameter " << i;
  }
}

}  // namespace
}  // namespace forge
