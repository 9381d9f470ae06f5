// The Dense-stack inference fast path (nn/dense_stack.h): equal to the ordinary per-layer
// path, sees weight updates, falls back where it does not apply, safe across threads.
#include "nn/dense_stack.h"

#include "nn/nn.h"
#include "ops/precision.h"
#include "optim/optimizers.h"
#include "test_util.h"

namespace forge::nn {
namespace {

using test::grad_ok;
using test::randn_leaf;

// in -> widths[0] -> ... ; hidden layers use `hidden`, the last one `last`.
std::shared_ptr<Sequential> make_mlp(int64_t in, const std::vector<int64_t>& widths, const std::string& hidden,
                                     const std::string& last, bool bias = true) {
  auto net = std::make_shared<Sequential>();
  int64_t features = in;
  for (size_t i = 0; i < widths.size(); ++i) {
    DenseOptions o;
    o.activation = i + 1 == widths.size() ? last : hidden;
    o.input_dim = features;
    o.use_bias = bias;
    o.bias_initializer = init::Initializer::constant(0.05);
    net->add(std::make_shared<Dense>(widths[i], o));
    features = widths[i];
  }
  return net;
}

using test::bitwise_equal;

TEST(DenseStack, EqualsTheOrdinaryPathAcrossWidths) {
  manual_seed(7);
  const std::vector<std::pair<int64_t, std::vector<int64_t>>> shapes = {
      {784, {128, 10}}, {1, {1}},       {15, {16, 17}},      {17, {33, 5, 64}},
      {100, {3}},       {64, {64, 64}}, {300, {257, 31, 2}}, {5, {1000, 7}}};
  for (const auto& [in, widths] : shapes) {
    for (const char* last : {"linear", "relu", "softmax", "sigmoid"}) {
      auto net = make_mlp(in, widths, "relu", last, in % 2 == 0);
      for (int64_t rows = 1; rows <= kDenseStackMaxRows; ++rows) {
        const Tensor x = randn({rows, in});
        Tensor expected;
        {
          // With autograd on, the parameters' requires_grad forces the ordinary path.
          expected = test::layer_by_layer(*net, x).detach();
        }
        NoGradGuard no_grad;
        const Tensor fast = dense_stack_forward(*net, x);
        ASSERT_TRUE(fast.defined()) << in << " " << last << " rows " << rows;
        EXPECT_TRUE(bitwise_equal(fast, expected)) << in << " " << last << " rows " << rows;
        EXPECT_TRUE(bitwise_equal(test::layer_by_layer(*net, x), expected));
        EXPECT_TRUE(bitwise_equal((*net)(x), expected));  // Sequential::forward takes the fast path
      }
    }
  }
}

TEST(DenseStack, LinearHiddenLayersAndOneDimensionalInput) {
  manual_seed(8);
  auto net = make_mlp(20, {30, 40, 6}, "linear", "linear");
  const Tensor x = randn({20});
  const Tensor expected = test::layer_by_layer(*net, x).detach();
  NoGradGuard no_grad;
  const Tensor fast = dense_stack_forward(*net, x);
  ASSERT_TRUE(fast.defined());
  EXPECT_EQ(fast.shape(), (Shape{6}));
  EXPECT_TRUE(bitwise_equal(fast, expected));
  const Tensor x3 = randn({2, 1, 20});  // leading axes are rows
  ASSERT_TRUE(dense_stack_forward(*net, x3).defined());
  EXPECT_TRUE(bitwise_equal(dense_stack_forward(*net, x3), test::layer_by_layer(*net, x3)));
}

TEST(DenseStack, WeightUpdatesShowInTheNextPredict) {
  manual_seed(9);
  auto net = make_mlp(12, {8, 3}, "relu", "linear");
  const Tensor x = randn({1, 12});
  Tensor before;
  {
    NoGradGuard no_grad;
    before = (*net)(x);
  }
  // One training step (SGD updates the weights in place).
  SGDOptions o;
  o.lr = 0.5;
  SGD sgd(net->named_parameters(), o);
  sgd.zero_grad();
  sum(mul((*net)(randn({4, 12})), 1.0)).backward();
  sgd.step();
  NoGradGuard no_grad;
  const Tensor after = (*net)(x);
  EXPECT_FALSE(bitwise_equal(after, before));
  EXPECT_TRUE(bitwise_equal(after, test::layer_by_layer(*net, x)));
  // load_state copies into the same tensors.
  auto other = make_mlp(12, {8, 3}, "relu", "linear");
  net->load_state(other->state());
  EXPECT_TRUE(bitwise_equal((*net)(x), test::layer_by_layer(*other, x)));
}

TEST(DenseStack, FallsBackWhereItDoesNotApply) {
  manual_seed(10);
  auto net = make_mlp(6, {5, 4}, "relu", "linear");
  const Tensor x = randn({1, 6});
  EXPECT_FALSE(dense_stack_forward(*net, x).defined());  // grad mode on
  NoGradGuard no_grad;
  ASSERT_TRUE(dense_stack_forward(*net, x).defined());
  EXPECT_FALSE(dense_stack_forward(*net, randn({kDenseStackMaxRows + 1, 6})).defined());
  EXPECT_FALSE(dense_stack_forward(*net, randn({6, 2}).t().slice(0, 0, 1)).defined());  // not contiguous
  EXPECT_FALSE(dense_stack_forward(*net, x.to(DType::kF64)).defined());
  EXPECT_FALSE(dense_stack_forward(*net, randn({1, 7})).defined());
  if (bf16_supported()) {
    PrecisionGuard bf16(Precision::kBF16);
    EXPECT_FALSE(dense_stack_forward(*net, x).defined());
  }
  EXPECT_FALSE(dense_stack_forward(Sequential(), x).defined());
  EXPECT_FALSE(dense_stack_forward(*make_mlp(6, {5, 4}, "tanh", "linear"), x).defined());
  Sequential with_flatten{std::make_shared<Flatten>(), std::make_shared<Dense>(3, DenseOptions{.input_dim = 6})};
  EXPECT_FALSE(dense_stack_forward(with_flatten, x).defined());
  Sequential lazy{std::make_shared<Dense>(3)};
  EXPECT_FALSE(dense_stack_forward(lazy, x).defined());  // not built yet: the ordinary path builds it
  EXPECT_EQ(lazy(x).shape(), (Shape{1, 3}));
  EXPECT_TRUE(dense_stack_forward(lazy, x).defined());
  // The ordinary path reports shape errors.
  EXPECT_THROW_MSG((*net)(randn({1, 7})), "[Dense] input has 7 features (last axis of (1,7)), expected 6");
  // Non-f32 inputs still work through the ordinary path.
  EXPECT_TRUE(test::all_close((*net)(x.to(DType::kF64)), (*net)(x)));
}

TEST(DenseStack, GradientsStillFlowThroughSequential) {
  manual_seed(11);
  auto net = make_mlp(4, {5, 3}, "relu", "linear");
  EXPECT_TRUE(grad_ok([&](const Tensors& in) { return (*net)(in[0]); }, {randn_leaf({1, 4}, 1)}));
}

TEST(DenseStack, ThreadsUseTheirOwnScratch) {
  manual_seed(12);
  auto a = make_mlp(784, {128, 10}, "relu", "linear");
  auto b = make_mlp(33, {500, 17, 4}, "relu", "softmax");
  const Tensor xa = randn({2, 784}), xb = randn({3, 33});
  const Tensor ea = test::layer_by_layer(*a, xa).detach(), eb = test::layer_by_layer(*b, xb).detach();
  EXPECT_TRUE(test::two_threads_reproduce([&] { return (*a)(xa); }, ea, [&] { return (*b)(xb); }, eb, 300));
}

}  // namespace
}  // namespace forge::nn
