#include "test_util.h"

namespace forge {
namespace {

TEST(Tensor, FactoriesAndItem) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.numel(), 6);
  EXPECT_TRUE(z.is_contiguous());
  EXPECT_EQ(sum(ones({4, 5})).item(), 20.0);
  EXPECT_EQ(arange(0, 5).to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4}));
  EXPECT_THROW_MSG(from_vector({1.f, 2.f}, {3}), "do not fill shape");
}

TEST(Tensor, ViewsShareStorage) {
  Tensor x = arange(0, 12).reshape({3, 4});
  Tensor t = x.t();
  EXPECT_EQ(t.shape(), (Shape{4, 3}));
  EXPECT_EQ(t.storage(), x.storage());
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.contiguous().to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  Tensor s = x.slice(1, 1, 4, 2);
  EXPECT_EQ(s.to_vector<float>(), (std::vector<float>{1, 3, 5, 7, 9, 11}));
  EXPECT_EQ(x.select(0, -1).to_vector<float>(), (std::vector<float>{8, 9, 10, 11}));
  EXPECT_EQ(x.unsqueeze(0).shape(), (Shape{1, 3, 4}));
  EXPECT_EQ(x.unsqueeze(0).squeeze(0).shape(), (Shape{3, 4}));
  Tensor e = from_vector({1.f, 2.f}, {2, 1}).expand({2, 3});
  EXPECT_EQ(e.to_vector<float>(), (std::vector<float>{1, 1, 1, 2, 2, 2}));
  EXPECT_EQ(x.reshape({-1}).shape(), (Shape{12}));
  EXPECT_THROW_MSG(x.reshape({5, -1}), "[reshape] cannot reshape (3,4) (12 elements) into (5,-1)");
  EXPECT_THROW_MSG(t.view({12}), "[view]");
}

TEST(Tensor, Casts) {
  Tensor x = from_vector({1.5f, -2.25f, 3.0f}, {3});
  EXPECT_EQ(x.to(DType::kBF16).to(DType::kF32).to_vector<float>(), (std::vector<float>{1.5f, -2.25f, 3.0f}));
  EXPECT_EQ(x.to(DType::kF16).to(DType::kF32).to_vector<float>(), (std::vector<float>{1.5f, -2.25f, 3.0f}));
  EXPECT_EQ(x.to(DType::kI64).to_vector<int64_t>(), (std::vector<int64_t>{1, -2, 3}));
}

TEST(Tensor, Printing) {
  Tensor x = arange(0, 4).reshape({2, 2});
  EXPECT_EQ(x.str(), "tensor([[0.0000, 1.0000],\n        [2.0000, 3.0000]], shape=(2,2), dtype=float32)");
  EXPECT_NE(zeros({100, 100}).str().find("..."), std::string::npos);
}

TEST(Random, SeededAndReproducible) {
  Generator a(42), b(42);
  EXPECT_EQ(randn({5}, 0, 1, &a).to_vector<float>(), randn({5}, 0, 1, &b).to_vector<float>());
  Tensor p = randperm(10, &a);
  auto v = p.to_vector<int64_t>();
  std::sort(v.begin(), v.end());
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(v[static_cast<size_t>(i)], i);
  Tensor big = randn({100000}, 2.0, 3.0, &a);
  EXPECT_NEAR(mean(big).item(), 2.0, 0.05);
  EXPECT_NEAR(std::sqrt(var(big).item()), 3.0, 0.05);
  EXPECT_NEAR(mean(bernoulli({100000}, 0.3, &a)).item(), 0.3, 0.01);
}

TEST(Autograd, BasicChainAndAccumulation) {
  Tensor x = from_vector({1.f, 2.f, 3.f}, {3}).set_requires_grad();
  Tensor y = sum(mul(x, x));
  y.backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, 4, 6}));
  sum(mul(x, 3.0)).backward();  // accumulates
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{5, 7, 9}));
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
  {
    NoGradGuard guard;
    Tensor z = mul(x, 2.0);
    EXPECT_FALSE(z.requires_grad());
  }
  EXPECT_FALSE(x.detach().requires_grad());
  Tensor once = sum(exp(x));
  once.backward();
  EXPECT_THROW_MSG(once.backward(), "retain_graph");
  EXPECT_THROW_MSG(mul(x, 2.0).backward(), "non-scalar");
}

TEST(Autograd, MatmulErrorsNameTheOp) {
  EXPECT_THROW_MSG(matmul(zeros({64, 784}), zeros({128, 10})), "[matmul] inner dimensions differ: (64,784) x (128,10)");
  EXPECT_THROW_MSG(add(zeros({2, 3}), zeros({4, 3})), "[add] shapes (2,3) and (4,3) cannot be broadcast");
}

}  // namespace
}  // namespace forge
