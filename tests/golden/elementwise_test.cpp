// PyTorch parity for ops/elementwise (goldens from tools/golden/families/elementwise.py).
#include "golden/golden.h"

namespace forge {
namespace {

using UnaryFn = Tensor (*)(const Tensor&);
using BinaryFn = Tensor (*)(const Tensor&, const Tensor&);

void check_unary(const std::string& name, const std::function<Tensor(const Tensor&)>& fn) {
  const auto& c = golden::get("elementwise", name);
  Tensor x = c.input(0);
  EXPECT_TRUE(c.check(fn(x), {x})) << name;
}

void check_binary(const std::string& name, BinaryFn fn) {
  const auto& c = golden::get("elementwise", name);
  Tensor a = c.input(0), b = c.input(1);
  EXPECT_TRUE(c.check(fn(a, b), {a, b})) << name;
}

TEST(GoldenElementwise, Binary) {
  check_binary("add", add);
  check_binary("add_broadcast", add);
  check_binary("sub_broadcast", sub);
  check_binary("mul_broadcast", mul);
  check_binary("div", div);
  check_binary("pow", pow);
  check_binary("maximum", maximum);
  check_binary("minimum", minimum);
  const auto& c = golden::get("elementwise", "where");
  Tensor a = c.input(0), b = c.input(1);
  EXPECT_TRUE(c.check(where(gt(a, b), a, b), {a, b}));
}

TEST(GoldenElementwise, Unary) {
  check_unary("pow_scalar", [](const Tensor& x) { return pow(x, 3.0); });
  check_unary("clamp", [](const Tensor& x) { return clamp(x, -0.5, 0.7); });
  check_unary("neg", [](const Tensor& x) { return neg(x); });
  check_unary("exp", [](const Tensor& x) { return exp(x); });
  check_unary("log", [](const Tensor& x) { return log(x); });
  check_unary("sqrt", [](const Tensor& x) { return sqrt(x); });
  check_unary("rsqrt", [](const Tensor& x) { return rsqrt(x); });
  check_unary("abs", [](const Tensor& x) { return abs(x); });
  check_unary("square", [](const Tensor& x) { return square(x); });
}

TEST(GoldenElementwise, Activations) {
  check_unary("relu", [](const Tensor& x) { return relu(x); });
  check_unary("leaky_relu", [](const Tensor& x) { return leaky_relu(x, 0.2); });
  check_unary("sigmoid", [](const Tensor& x) { return sigmoid(x); });
  check_unary("tanh", [](const Tensor& x) { return tanh(x); });
  check_unary("gelu", [](const Tensor& x) { return gelu(x, false); });
  check_unary("gelu_tanh", [](const Tensor& x) { return gelu(x, true); });
  check_unary("silu", [](const Tensor& x) { return silu(x); });
}

TEST(GoldenElementwise, Comparisons) {
  const auto& c = golden::get("elementwise", "comparisons");
  Tensor a = c.input(0, false), b = c.input(1, false);
  Tensor out = Tensor();
  Tensors parts{lt(a, b), le(a, b), gt(a, b), ge(a, b), eq(a, a), ne(a, b)};
  Tensor stacked = zeros({6, 3, 4});
  for (int64_t i = 0; i < 6; ++i) copy_(stacked.select(0, i), parts[static_cast<size_t>(i)]);
  EXPECT_TRUE(c.expect("out", stacked));
}

}  // namespace
}  // namespace forge
