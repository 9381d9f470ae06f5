// Finite-difference gradient checks for ops/elementwise.
#include "test_util.h"

namespace forge {
namespace {

using test::grad_ok;
using test::randn_leaf;

Tensor positive_leaf(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return rand(shape, 0.5, 2.0, &gen).set_requires_grad();
}

TEST(ElementwiseGrad, BinaryWithBroadcasting) {
  Tensor a = randn_leaf({3, 4}, 1), row = randn_leaf({4}, 2), col = randn_leaf({3, 1}, 3);
  Tensor pos = positive_leaf({3, 4}, 4);
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return add(x[0], x[1]); }, {a, row}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return sub(x[0], x[1]); }, {col, a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return mul(x[0], x[1]); }, {a, col}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return div(x[0], x[1]); }, {a, pos}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return pow(x[0], x[1]); }, {pos, a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return maximum(x[0], x[1]); }, {a, row}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return minimum(x[0], x[1]); }, {a, row}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return where(gt(x[0], 0.0), x[0], x[1]); }, {a, row}));
}

TEST(ElementwiseGrad, ScalarForms) {
  Tensor a = randn_leaf({2, 3}, 5);
  Tensor pos = positive_leaf({2, 3}, 6);
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return add(mul(x[0], 3.0), 1.5); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return rsub(2.0, x[0]); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return rdiv(2.0, x[0]); }, {pos}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return pow(x[0], 2.5); }, {pos}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return clamp(x[0], -0.3, 0.4); }, {a}));
}

TEST(ElementwiseGrad, UnaryMath) {
  Tensor a = randn_leaf({2, 5}, 7);
  Tensor pos = positive_leaf({2, 5}, 8);
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return neg(x[0]); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return exp(x[0]); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return log(x[0]); }, {pos}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return sqrt(x[0]); }, {pos}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return rsqrt(x[0]); }, {pos}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return abs(x[0]); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return square(x[0]); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return sin(x[0]); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return cos(x[0]); }, {a}));
}

TEST(ElementwiseGrad, Activations) {
  Tensor a = randn_leaf({3, 4}, 9);
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return relu(x[0]); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return leaky_relu(x[0], 0.1); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return sigmoid(x[0]); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return tanh(x[0]); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return gelu(x[0], false); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return gelu(x[0], true); }, {a}));
  EXPECT_TRUE(grad_ok([](const Tensors& x) { return silu(x[0]); }, {a}));
}

TEST(ElementwiseGrad, SecondOrderThroughCreateGraph) {
  // d/dx (x^3) = 3x^2; d2/dx2 = 6x, via create_graph.
  Tensor x = from_vector({1.5f, -2.0f}, {2}).set_requires_grad();
  Tensor y = sum(pow(x, 3.0));
  y.backward(Tensor(), false, true);
  Tensor first = x.grad();
  EXPECT_TRUE(test::all_close(first, from_vector({6.75f, 12.0f}, {2})));
  x.zero_grad();
  sum(first).backward();
  EXPECT_TRUE(test::all_close(x.grad(), from_vector({9.0f, -12.0f}, {2})));
}

TEST(ElementwiseGrad, NumericallyStableSigmoid) {
  Tensor x = from_vector({-200.f, 0.f, 200.f}, {3});
  EXPECT_TRUE(test::all_close(sigmoid(x), from_vector({0.f, 0.5f, 1.f}, {3})));
}

TEST(ElementwiseGrad, InPlaceRefusesGraphTensors) {
  Tensor a = randn_leaf({2}, 10);
  EXPECT_THROW_MSG(add_(a, ones({2})), "NoGradGuard");
  NoGradGuard guard;
  add_(a, ones({2}), 2.0);
  EXPECT_THROW_MSG(add_(a, ones({3})), "[add_] shapes (2,) and (3,) cannot be broadcast");
}

}  // namespace
}  // namespace forge

namespace forge {
namespace {

// Second derivatives through ops whose backward reuses their output: d/dx of the first
// derivative, checked by finite differences of the first derivative.
TEST(ElementwiseGrad, SecondOrderOfOutputReusingOps) {
  auto first_derivative = [](Tensor (*op)(const Tensor&)) {
    return [op](const Tensors& t) {
      EnableGradGuard with_grad;  // gradcheck evaluates f under NoGradGuard
      Tensor x = t[0];
      x.zero_grad();
      Tensor y = sum(op(x));
      y.backward(Tensor(), false, true);
      Tensor g = x.grad();
      x.zero_grad();
      return g;
    };
  };
  Generator gen(41);
  Tensor pos = rand({5}, 0.5, 2.0, &gen).set_requires_grad();
  Tensor any = randn({5}, 0, 1, &gen).set_requires_grad();
  for (auto op : {+[](const Tensor& x) { return exp(x); }, +[](const Tensor& x) { return sigmoid(x); },
                  +[](const Tensor& x) { return tanh(x); }}) {
    EXPECT_TRUE(test::grad_ok(first_derivative(op), {any}));
  }
  for (auto op : {+[](const Tensor& x) { return sqrt(x); }, +[](const Tensor& x) { return rsqrt(x); },
                  +[](const Tensor& x) { return pow(x, scalar(2.5)); }}) {
    EXPECT_TRUE(test::grad_ok(first_derivative(op), {pos}));
  }
}

}  // namespace
}  // namespace forge
