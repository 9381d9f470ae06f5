#include "models/two_layer_mlp.h"
#include "nn/loss.h"

#include "test_util.h"

namespace forge {
namespace {

TEST(TwoLayerMlp, InitMatchesPyTorchDefaults) {
  Generator gen(1);
  const auto m = models::TwoLayerMlp::init(784, 128, 10, gen);
  EXPECT_EQ(m.w1.shape(), (Shape{128, 784}));
  EXPECT_EQ(m.b2.shape(), (Shape{10}));
  for (const Tensor& p : m.parameters()) EXPECT_TRUE(p.requires_grad());
  EXPECT_LE(max(abs(m.w1)).item(), 1.0 / std::sqrt(784.0));
  EXPECT_LE(max(abs(m.w2)).item(), 1.0 / std::sqrt(128.0));
  EXPECT_GT(max(abs(m.w2)).item(), 0.9 / std::sqrt(128.0));  // really spans the range
  // Same seed, same weights; clone copies values into fresh leaves.
  Generator again(1);
  const auto m2 = models::TwoLayerMlp::init(784, 128, 10, again);
  EXPECT_TRUE(test::all_close(m.w1, m2.w1, 0, 0));
  const auto c = m.clone();
  EXPECT_FALSE(c.w1.storage() == m.w1.storage());
  EXPECT_TRUE(test::all_close(c.b1, m.b1, 0, 0));
  EXPECT_THROW_MSG(models::TwoLayerMlp::init(0, 3, 2, gen), "[two_layer_mlp] sizes must be positive, got 0 -> 3 -> 2");
}

TEST(TwoLayerMlp, NetworkGradcheck) {
  // Seed 6 keeps every hidden pre-activation >= 0.06 away from ReLU's kink (finite differences
  // straddling the kink disagree with any analytic gradient).
  Generator gen(6);
  const auto m = models::TwoLayerMlp::init(5, 4, 3, gen);
  const Tensor x = randn({2, 5}, 0, 1, &gen);
  const Tensor labels = from_vector<int64_t>({2, 0}, {2});
  EXPECT_TRUE(test::grad_ok(
      [&](const Tensors& p) {
        const models::TwoLayerMlp net{p[0], p[1], p[2], p[3]};
        return sparse_categorical_cross_entropy_with_logits(net.forward(x), labels);
      },
      m.parameters()));
}

TEST(TwoLayerMlp, ByHandMatchesAutograd) {
  Generator gen(4);
  const auto m = models::TwoLayerMlp::init(12, 8, 5, gen);
  const Tensor x = randn({7, 12}, 0, 1, &gen);
  const Tensor labels = randint(0, 5, {7}, &gen);
  const Tensor loss = sparse_categorical_cross_entropy_with_logits(m.forward(x), labels);
  loss.backward();
  const auto g = models::manual_gradients(m, x, labels);
  EXPECT_NEAR(g.loss, loss.item(), 1e-6);
  const Tensors params = m.parameters(), manual = g.list();
  for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(test::all_close(manual[i], params[i].grad())) << i;
}

TEST(TwoLayerMlp, SgdUpdate) {
  Generator gen(5);
  const auto m = models::TwoLayerMlp::init(3, 2, 2, gen);
  const Tensor before = m.b2.detach().clone();
  models::sgd_update(m, {zeros({2, 3}), zeros({2}), zeros({2, 2}), ones({2})}, 0.5);
  EXPECT_TRUE(test::all_close(m.b2, before - 0.5));
  EXPECT_THROW_MSG(models::sgd_update(m, {zeros({2})}, 0.1), "[sgd_update] expected 4 gradients, got 1");
}

TEST(TwoLayerMlp, Errors) {
  Generator gen(6);
  const auto m = models::TwoLayerMlp::init(6, 4, 3, gen);
  EXPECT_THROW_MSG(m.forward(zeros({2, 5})), "[linear] input has 5 features");
  EXPECT_THROW_MSG(models::manual_gradients(m, zeros({2, 5}), zeros({2}, DType::kI64)),
                   "[two_layer_mlp] input must be [batch, 6], got (2,5)");
}

}  // namespace
}  // namespace forge
