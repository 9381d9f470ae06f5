// Finite-difference gradient checks for ops/reduce, ops/view and ops/linalg.
#include "autograd/node.h"
#include "test_util.h"

namespace forge {
namespace {

using test::grad_ok;
using test::randn_leaf;

TEST(ReduceGrad, Reductions) {
  Tensor x = randn_leaf({2, 3, 4}, 21);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return sum(t[0]); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return sum(t[0], {0, 2}, true); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return sum(t[0], {1}); }, {x}));  // non-contiguous axes path
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return mean(t[0], {-1}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return max(t[0], {1}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return min(t[0], {0, 2}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return var(t[0], {2}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return logsumexp(t[0], {1}, true); }, {x}));
}

TEST(ReduceGrad, ReductionValuesAndErrors) {
  Tensor x = arange(0, 24).reshape({2, 3, 4});
  EXPECT_EQ(sum(x, {0, 2}).to_vector<float>(), (std::vector<float>{60, 92, 124}));
  EXPECT_EQ(sum(x.permute({2, 0, 1}), {1}).to_vector<float>(), sum(x, {0}).t().contiguous().to_vector<float>());
  EXPECT_EQ(argmax(x, 2).to_vector<int64_t>(), (std::vector<int64_t>(6, 3)));
  EXPECT_EQ(argmin(x, 0, true).shape(), (Shape{1, 3, 4}));
  EXPECT_THROW_MSG(sum(x, {3}), "[sum] axis 3 out of range for 3-d tensor");
  EXPECT_THROW_MSG(sum(x, {1, 1}), "listed twice");
  EXPECT_THROW_MSG(var(ones({1})), "degrees of freedom");
  Tensor big = from_vector({1000.f, 1000.f}, {2});
  EXPECT_NEAR(logsumexp(big, {0}).item(), 1000.0 + std::log(2.0), 1e-3);
}

TEST(ViewGrad, ViewsAndCopies) {
  Tensor x = randn_leaf({2, 3, 4}, 22);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return t[0].permute({2, 0, 1}).reshape({4, 6}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return t[0].slice(2, 1, 4, 2); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return t[0].select(1, -1); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return t[0].slice(1, 0, 1).expand({2, 5, 4}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return t[0].unsqueeze(1).squeeze(1).flatten(1); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return t[0].transpose(0, 2).contiguous().clone(); }, {x}));
}

TEST(LinalgGrad, MatmulAndLinear) {
  Tensor a = randn_leaf({3, 4}, 23), b = randn_leaf({4, 5}, 24);
  Tensor ba = randn_leaf({2, 3, 4}, 25), bb = randn_leaf({2, 4, 2}, 26);
  Tensor v = randn_leaf({4}, 27);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return matmul(t[0], t[1]); }, {a, b}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return matmul(t[0], t[1]); }, {ba, bb}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return matmul(t[0], t[1]); }, {ba, b}));  // broadcast batch
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return matmul(t[0], t[1]); }, {a, v}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return matmul(t[0], t[1]); }, {v, b}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return matmul(t[0].t(), t[1].t()); }, {b, a}));  // transposed views
  Tensor w = randn_leaf({5, 4}, 28), bias = randn_leaf({5}, 29);
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return linear(t[0], t[1], t[2]); }, {ba, w, bias}));
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return linear(t[0], t[1]); }, {a, w}));
  EXPECT_THROW_MSG(linear(a, randn({5, 3})), "[linear] input has 4 features (shape (3,4)) but weight (5,3) expects 3");
  EXPECT_THROW_MSG(matmul(scalar(1.0), a), "0-d");
}

TEST(Autograd, SharedSubgraphAccumulates) {
  // y = x*x + x*x reuses x in four places; dy/dx = 4x.
  Tensor x = randn_leaf({3}, 30);
  Tensor y = sum(add(mul(x, x), mul(x, x)));
  y.backward();
  EXPECT_TRUE(test::all_close(x.grad(), mul(x.detach(), 4.0)));
  // retain_graph allows a second pass; gradients accumulate.
  Tensor z = sum(exp(x));
  x.zero_grad();
  z.backward(Tensor(), true);
  z.backward();
  EXPECT_TRUE(test::all_close(x.grad(), mul(exp(x.detach()), 2.0)));
}

}  // namespace
}  // namespace forge

namespace forge {
namespace {

TEST(Gradcheck, DetectsAWrongBackwardRule) {
  // An op whose recorded gradient is off by a factor 2 must fail the check.
  auto wrong_square = [](const Tensors& t) {
    Tensor out = square(t[0].detach());
    record("wrong_square", {t[0]}, out, [x = t[0]](const Tensors& g) { return Tensors{mul(g[0], x)}; });
    return out;
  };
  GradcheckResult r = gradcheck(wrong_square, {test::randn_leaf({4}, 31)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.message.find("analytic"), std::string::npos);
}

}  // namespace
}  // namespace forge
