// BatchNormalization and LayerNormalization: buffers, modes, gradients, errors.
#include "nn/layers/norm.h"

#include "test_util.h"

namespace forge::nn {
namespace {

using test::grad_ok;
using test::randn_leaf;

TEST(BatchNormalization, BuffersAndModes) {
  BatchNormalization bn;
  Tensor x = randn({8, 3, 2, 2}, 1.0, 2.0);
  EXPECT_EQ(bn.forward(x).shape(), x.shape());
  std::vector<std::string> names;
  for (const auto& nt : bn.state()) names.push_back(nt.name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}));
  EXPECT_EQ(bn.tensor("num_batches_tracked").item(), 1.0);
  // Running mean moved 10% of the way toward the batch mean (PyTorch momentum).
  Tensor batch_mean = mean(x, {0, 2, 3});
  EXPECT_TRUE(test::all_close(bn.tensor("running_mean"), batch_mean * 0.1, 1e-4, 1e-5));
  bn.eval();
  Tensor before = bn.tensor("running_mean").clone();
  Tensor y = bn.forward(x);
  EXPECT_TRUE(test::all_close(bn.tensor("running_mean"), before, 0, 0));
  EXPECT_EQ(bn.tensor("num_batches_tracked").item(), 1.0);
  Tensor expected = (x - bn.tensor("running_mean").reshape({1, 3, 1, 1})) /
                    sqrt(bn.tensor("running_var").reshape({1, 3, 1, 1}) + 1e-5);
  EXPECT_TRUE(test::all_close(y, expected, 1e-4, 1e-5));
}

TEST(BatchNormalization, Gradcheck) {
  BatchNormalization bn({.num_features = 3});
  Tensor x = randn_leaf({4, 3, 2}, 2);
  EXPECT_TRUE(
      grad_ok([&](const Tensors& in) { return bn.forward(in[0]); }, {x, bn.tensor("weight"), bn.tensor("bias")}));
  bn.eval();
  EXPECT_TRUE(
      grad_ok([&](const Tensors& in) { return bn.forward(in[0]); }, {x, bn.tensor("weight"), bn.tensor("bias")}));
}

TEST(LayerNormalization, ShapeAndGradcheck) {
  LayerNormalization ln;
  Tensor x = randn_leaf({2, 3, 5}, 3);
  EXPECT_EQ(ln.forward(x).shape(), x.shape());
  EXPECT_EQ(ln.tensor("weight").shape(), (Shape{5}));
  EXPECT_TRUE(
      grad_ok([&](const Tensors& in) { return ln.forward(in[0]); }, {x, ln.tensor("weight"), ln.tensor("bias")}));
  LayerNormalization plain({.center = false, .scale = false, .normalized_dim = 5});
  EXPECT_TRUE(plain.parameters().empty());
  EXPECT_TRUE(test::all_close(mean(plain.forward(x), {-1}), zeros({2, 3}), 0, 1e-5));
}

TEST(Normalization, Errors) {
  EXPECT_THROW_MSG(BatchNormalization({.momentum = 1.5}), "[BatchNormalization] momentum must be in [0, 1]");
  BatchNormalization bn({.num_features = 3});
  EXPECT_THROW_MSG(bn.forward(randn({4, 2})),
                   "[BatchNormalization] input has 2 channels (axis 1 of (4,2)), expected 3");
  EXPECT_THROW_MSG(bn.forward(randn({4})), "[BatchNormalization] input must be (N,C)");
  LayerNormalization ln({.normalized_dim = 4});
  EXPECT_THROW_MSG(ln.forward(randn({2, 5})),
                   "[LayerNormalization] input has 5 features (last axis of (2,5)), expected 4");
  EXPECT_THROW_MSG(LayerNormalization({.epsilon = 0}), "[LayerNormalization] epsilon must be positive");
}

}  // namespace
}  // namespace forge::nn
