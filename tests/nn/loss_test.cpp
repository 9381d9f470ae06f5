// Finite-difference gradients and error messages for nn/loss.
#include "nn/loss.h"

#include <cmath>
#include <limits>

#include "backend/cpu/vec_math.h"
#include "test_util.h"

namespace forge {
namespace {

using test::grad_ok;
using test::randn_leaf;

Tensor probs_like(const Shape& shape, uint64_t seed) {
  // Values in (0.1, 0.9) so finite differences stay away from the clamps.
  Tensor p = add(mul(sigmoid(randn_leaf(shape, seed).detach()), 0.8), 0.1);
  return p.set_requires_grad(true);
}

Tensor ids(const std::vector<int64_t>& v) { return from_vector<int64_t>(v, {static_cast<int64_t>(v.size())}); }

TEST(Loss, RegressionGradients) {
  Tensor pred = randn_leaf({3, 4}, 1);
  Tensor target = randn_leaf({3, 4}, 2).detach();
  for (Reduction r : {Reduction::kMean, Reduction::kSum, Reduction::kNone}) {
    EXPECT_TRUE(grad_ok([&](const Tensors& in) { return mse_loss(in[0], target, r); }, {pred}));
    EXPECT_TRUE(grad_ok([&](const Tensors& in) { return mae_loss(in[0], target, r); }, {pred}));
    EXPECT_TRUE(grad_ok([&](const Tensors& in) { return huber_loss(in[0], target, 0.7, r); }, {pred}));
  }
}

TEST(Loss, TargetsGetNoGradient) {
  Tensor pred = randn_leaf({2, 3}, 3);
  Tensor target = randn_leaf({2, 3}, 4);
  mse_loss(pred, target).backward();
  EXPECT_TRUE(pred.grad().defined());
  EXPECT_FALSE(target.grad().defined());
}

TEST(Loss, BinaryGradients) {
  Tensor probs = probs_like({3, 4}, 5);
  Tensor logits = randn_leaf({3, 4}, 6);
  Tensor target = probs_like({3, 4}, 7).detach();
  Tensor weight = add(abs(randn_leaf({4}, 8).detach()), 0.5);
  EXPECT_TRUE(grad_ok([&](const Tensors& in) { return binary_cross_entropy(in[0], target); }, {probs}));
  EXPECT_TRUE(grad_ok([&](const Tensors& in) { return binary_cross_entropy(in[0], target, Reduction::kSum, weight); },
                      {probs}));
  EXPECT_TRUE(grad_ok([&](const Tensors& in) { return binary_cross_entropy_with_logits(in[0], target); }, {logits}));
  EXPECT_TRUE(grad_ok(
      [&](const Tensors& in) { return binary_cross_entropy_with_logits(in[0], target, Reduction::kNone, weight); },
      {logits}));
}

TEST(Loss, CategoricalGradients) {
  Tensor probs = probs_like({3, 5}, 9);
  Tensor logits = randn_leaf({3, 5}, 10);
  Tensor target = exp(sub(randn_leaf({3, 5}, 11).detach(), 0.0));
  target = div(target, sum(target, {1}, true));
  EXPECT_TRUE(grad_ok([&](const Tensors& in) { return categorical_cross_entropy(in[0], target); }, {probs}));
  EXPECT_TRUE(
      grad_ok([&](const Tensors& in) { return categorical_cross_entropy_with_logits(in[0], target); }, {logits}));
}

TEST(Loss, SparseCategoricalGradients) {
  Tensor probs = probs_like({4, 5}, 12);
  Tensor logits = randn_leaf({4, 5}, 13);
  Tensor y = ids({0, 3, 4, 3});
  Tensor cw = from_vector({0.5f, 1.0f, 2.0f, 0.25f, 3.0f}, {5});
  for (Reduction r : {Reduction::kMean, Reduction::kSum, Reduction::kNone}) {
    EXPECT_TRUE(grad_ok([&](const Tensors& in) { return sparse_categorical_cross_entropy(in[0], y, r, cw); }, {probs}));
    EXPECT_TRUE(grad_ok([&](const Tensors& in) { return sparse_categorical_cross_entropy_with_logits(in[0], y, r); },
                        {logits}));
    EXPECT_TRUE(grad_ok(
        [&](const Tensors& in) { return sparse_categorical_cross_entropy_with_logits(in[0], y, r, cw); }, {logits}));
  }
}

// First-order gradient of sum(loss) at x, optionally through the composed (create_graph) rule.
Tensor sparse_grad(const Tensor& x_values, const Tensor& y, const Tensor& cw, bool create_graph) {
  Tensor x = x_values.detach().clone().set_requires_grad(true);
  sparse_categorical_cross_entropy_with_logits(x, y, Reduction::kSum, cw).backward(Tensor(), false, create_graph);
  Tensor g = x.grad();
  x.zero_grad();  // with create_graph, x.grad's graph refers back to x: drop the cycle
  return g;
}

TEST(Loss, SparseWithLogitsComposedBackwardMatchesFusedAndIsDifferentiable) {
  Tensor y = ids({1, 0, 2});
  Tensor cw = from_vector({0.5f, 2.0f, 1.5f, 1.0f}, {4});
  Tensor x0 = randn_leaf({3, 4}, 14).detach();
  EXPECT_TRUE(test::all_close(sparse_grad(x0, y, cw, true).detach(), sparse_grad(x0, y, cw, false)));
  // Second order: d/dx <grad(x), w> by autograd vs central differences of the fused gradient.
  Tensor w = randn_leaf({3, 4}, 15).detach();
  Tensor x = x0.clone().set_requires_grad(true);
  sparse_categorical_cross_entropy_with_logits(x, y, Reduction::kSum, cw).backward(Tensor(), false, true);
  Tensor g = x.grad();
  ASSERT_TRUE(g.requires_grad());
  x.zero_grad();
  sum(mul(g, w)).backward();
  const std::vector<float> second = x.grad().to_vector<float>();
  const double eps = 1e-2;
  for (int64_t i = 0; i < x0.numel(); ++i) {
    Tensor plus = x0.clone(), minus = x0.clone();
    plus.data<float>()[i] += static_cast<float>(eps);
    minus.data<float>()[i] -= static_cast<float>(eps);
    const double numeric =
        (sum(mul(sparse_grad(plus, y, cw, false), w)).item() - sum(mul(sparse_grad(minus, y, cw, false), w)).item()) /
        (2 * eps);
    EXPECT_NEAR(second[static_cast<size_t>(i)], numeric, 2e-3) << "element " << i;
  }
}

TEST(Loss, StableForExtremeLogits) {
  Tensor logits = from_vector({200.0f, -200.0f, 0.0f, -200.0f, 200.0f, 199.0f}, {2, 3});
  Tensor loss = sparse_categorical_cross_entropy_with_logits(logits, ids({1, 2}), Reduction::kNone);
  EXPECT_NEAR(loss.to_vector<float>()[0], 400.0f, 1e-3);
  EXPECT_NEAR(loss.to_vector<float>()[1], std::log1p(std::exp(1.0)), 1e-5);
  Tensor bce = binary_cross_entropy_with_logits(from_vector({-300.0f, 300.0f}, {2}), from_vector({1.0f, 1.0f}, {2}),
                                                Reduction::kNone);
  EXPECT_NEAR(bce.to_vector<float>()[0], 300.0f, 1e-3);
  EXPECT_EQ(bce.to_vector<float>()[1], 0.0f);
  Tensor saturated = binary_cross_entropy(from_vector({0.0f, 1.0f}, {2}), from_vector({1.0f, 0.0f}, {2}));
  EXPECT_NEAR(saturated.item(), 100.0, 1e-4);
}

TEST(Loss, ExpApproxIsAccurate) {
  // The fused sparse cross entropy relies on cpu::exp_approx: ~1 ulp over the float range.
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.01f) {
    const double e = std::exp(static_cast<double>(x));
    worst = std::max(worst, std::fabs(cpu::exp_approx(x) - e) / e);
  }
  EXPECT_LT(worst, 2e-7);
  EXPECT_EQ(cpu::exp_approx(-200.0f), 0.0f);
  EXPECT_EQ(cpu::exp_approx(-std::numeric_limits<float>::infinity()), 0.0f);
  EXPECT_EQ(cpu::exp_approx(0.0f), 1.0f);
  EXPECT_TRUE(std::isnan(cpu::exp_approx(std::numeric_limits<float>::quiet_NaN())));
}

TEST(Loss, Errors) {
  Tensor a = randn_leaf({3, 4}, 16);
  Tensor logits = randn_leaf({2, 10}, 17);
  EXPECT_THROW_MSG(mse_loss(a, zeros({3})), "[mse_loss] pred (3,4) and target (3,) shapes differ");
  EXPECT_THROW_MSG(huber_loss(a, zeros({3, 4}), -1.0), "[huber_loss] delta must be positive, got -1");
  EXPECT_THROW_MSG(binary_cross_entropy(a, zeros({3, 4}), Reduction::kMean, ones({3})), "[binary_cross_entropy]");
  EXPECT_THROW_MSG(categorical_cross_entropy_with_logits(zeros({2, 3, 4}), zeros({2, 3, 4})),
                   "[categorical_cross_entropy_with_logits] logits must be 2-d (N, C), got (2,3,4)");
  EXPECT_THROW_MSG(sparse_categorical_cross_entropy_with_logits(logits, ids({3, 12})),
                   "[sparse_categorical_cross_entropy] label 12 out of range for 10 classes");
  EXPECT_THROW_MSG(sparse_categorical_cross_entropy(zeros({1, 3}), ids({-1})), "label -1 out of range");
  EXPECT_THROW_MSG(sparse_categorical_cross_entropy_with_logits(logits, zeros({2})),
                   "target must hold int64 or int32 class ids, got float32");
  EXPECT_THROW_MSG(sparse_categorical_cross_entropy_with_logits(logits, ids({1, 2, 3})),
                   "target must be (2,) to match 2 rows, got (3,)");
  EXPECT_THROW_MSG(sparse_categorical_cross_entropy_with_logits(logits, ids({1, 2}), Reduction::kMean, ones({3})),
                   "class_weight must be (10,) for 10 classes, got (3,)");
  EXPECT_THROW_MSG(parse_reduction("avg"), "[loss] unknown reduction 'avg'");
}

}  // namespace
}  // namespace forge
