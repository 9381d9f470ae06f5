// Dense, Flatten, Activation: shapes, gradients through the layer, errors.
#include <cmath>

#include "nn/nn.h"
#include "test_util.h"

namespace forge::nn {
namespace {

using test::grad_ok;
using test::randn_leaf;

TEST(Dense, ShapesAndDefaults) {
  Dense d(3, {.input_dim = 4});
  EXPECT_EQ(d.name(), "Dense");
  EXPECT_EQ(d.weight().shape(), (Shape{3, 4}));
  EXPECT_EQ(d.bias().shape(), (Shape{3}));
  EXPECT_EQ(d.bias().to_vector<float>(), std::vector<float>(3, 0.0f));  // zero bias (Keras default)
  const double limit = std::sqrt(6.0 / 7.0);                            // glorot_uniform
  for (float w : d.weight().to_vector<float>()) EXPECT_LE(std::abs(w), limit);
  EXPECT_EQ(d.forward(randn({2, 4})).shape(), (Shape{2, 3}));
  EXPECT_EQ(d.forward(randn({5, 2, 4})).shape(), (Shape{5, 2, 3}));
  EXPECT_EQ(d.output_shape({5, 2, 4}), (Shape{5, 2, 3}));
  Dense nb(2, {.use_bias = false, .input_dim = 3});
  EXPECT_EQ(nb.named_parameters().size(), 1u);
}

TEST(Dense, MatchesLinearPlusActivation) {
  Dense d(3, {.activation = "relu", .input_dim = 4, .bias_initializer = init::Initializer::constant(0.5)});
  Tensor x = randn({2, 4});
  EXPECT_TRUE(test::all_close(d.forward(x), relu(linear(x, d.weight(), d.bias()))));
}

TEST(Dense, Gradcheck) {
  for (const char* act : {"linear", "sigmoid", "tanh", "softmax", "gelu", "silu"}) {
    Dense d(3, {.activation = act, .input_dim = 4});
    Tensor w = d.weight(), b = d.bias();
    EXPECT_TRUE(grad_ok([&](const Tensors& in) { return d.forward(in[0]); }, {randn_leaf({2, 4}, 1), w, b})) << act;
  }
}

TEST(Dense, Errors) {
  EXPECT_THROW_MSG(Dense(0), "[Dense] units must be positive, got 0");
  EXPECT_THROW_MSG(Dense(2, {.activation = "relu6"}), "[Dense] unknown activation 'relu6'");
  Dense d(2, {.input_dim = 4});
  EXPECT_THROW_MSG(d.forward(randn({3, 5})), "[Dense] input has 5 features (last axis of (3,5)), expected 4");
  EXPECT_THROW_MSG(d.output_shape({}), "[Dense] input must have at least 1 axis");
}

TEST(Flatten, ShapeAndGrad) {
  Flatten f;
  EXPECT_EQ(f.forward(randn({2, 3, 4, 5})).shape(), (Shape{2, 60}));
  EXPECT_EQ(f.output_shape({2, 3, 4, 5}), (Shape{2, 60}));
  EXPECT_EQ(f.forward(randn({4})).shape(), (Shape{4, 1}));
  EXPECT_TRUE(grad_ok([&](const Tensors& in) { return f.forward(in[0]); }, {randn_leaf({2, 3, 2}, 2)}));
  EXPECT_THROW_MSG(f.output_shape({}), "[Flatten] input must have a batch axis");
}

TEST(Activation, AllNames) {
  Tensor x = randn_leaf({2, 5}, 3);
  for (const char* act : {"linear", "relu", "sigmoid", "tanh", "softmax", "gelu", "silu", "swish", "leaky_relu"}) {
    Activation a(act);
    EXPECT_EQ(a.forward(x).shape(), x.shape()) << act;
    EXPECT_EQ(a.output_shape({2, 5}), (Shape{2, 5}));
    EXPECT_TRUE(grad_ok([&](const Tensors& in) { return a.forward(in[0]); }, {x})) << act;
  }
  Tensor s = Activation("softmax").forward(x);
  EXPECT_TRUE(test::all_close(sum(s, {1}), ones({2})));
  EXPECT_TRUE(test::all_close(Activation("leaky_relu").forward(full({1}, -1.0)), full({1}, -0.2)));
  EXPECT_THROW_MSG(Activation("elu"), "[Activation] unknown activation 'elu'");
}

}  // namespace
}  // namespace forge::nn
