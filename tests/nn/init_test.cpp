// Initializers: exact fans and gains, sample statistics over large tensors, determinism.
#include <cmath>

#include "nn/nn.h"
#include "test_util.h"

namespace forge::nn {
namespace {

struct Stats {
  double mean, std, min, max;
};

Stats stats_of(const Tensor& t) {
  auto v = t.to_vector<double>();
  double s = 0, s2 = 0, lo = v[0], hi = v[0];
  for (double x : v) {
    s += x;
    s2 += x * x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double n = static_cast<double>(v.size());
  const double mean = s / n;
  return {mean, std::sqrt(s2 / n - mean * mean), lo, hi};
}

TEST(Init, Fans) {
  auto f = init::compute_fans({30, 20});  // dense [out, in]
  EXPECT_EQ(f.fan_in, 20);
  EXPECT_EQ(f.fan_out, 30);
  f = init::compute_fans({16, 3, 5, 7});  // conv2d OIHW
  EXPECT_EQ(f.fan_in, 3 * 35);
  EXPECT_EQ(f.fan_out, 16 * 35);
  f = init::compute_fans({8, 4, 3});  // conv1d
  EXPECT_EQ(f.fan_in, 12);
  EXPECT_EQ(f.fan_out, 24);
  f = init::compute_fans({9});
  EXPECT_EQ(f.fan_in, 9);
  EXPECT_EQ(f.fan_out, 9);
  f = init::compute_fans({});
  EXPECT_EQ(f.fan_in, 1);
  EXPECT_DOUBLE_EQ(init::gain("relu"), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(init::gain("tanh"), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(init::gain("leaky_relu", 0.2), std::sqrt(2.0 / 1.04));
  EXPECT_DOUBLE_EQ(init::gain("linear"), 1.0);
  EXPECT_THROW_MSG(init::gain("softsign"), "[init::gain] unknown nonlinearity 'softsign'");
}

TEST(Init, Statistics) {
  Generator gen(42);
  Tensor t = empty({400, 500});  // 200k samples: std error of the mean ~ std / 450
  init::normal_(t, gen, 0.5, 2.0);
  Stats s = stats_of(t);
  EXPECT_NEAR(s.mean, 0.5, 0.02);
  EXPECT_NEAR(s.std, 2.0, 0.02);

  init::uniform_(t, gen, -1.0, 3.0);
  s = stats_of(t);
  EXPECT_NEAR(s.mean, 1.0, 0.01);
  EXPECT_NEAR(s.std, 4.0 / std::sqrt(12.0), 0.01);
  EXPECT_GE(s.min, -1.0);
  EXPECT_LT(s.max, 3.0);

  const double glorot_limit = std::sqrt(6.0 / 900.0);
  init::glorot_uniform_(t, gen);
  s = stats_of(t);
  EXPECT_NEAR(s.mean, 0.0, 1e-3);
  EXPECT_NEAR(s.std, glorot_limit / std::sqrt(3.0), 1e-3);
  EXPECT_GE(s.min, -glorot_limit);
  EXPECT_LE(s.max, glorot_limit);
  EXPECT_GT(s.max, 0.99 * glorot_limit);

  init::glorot_normal_(t, gen);
  s = stats_of(t);
  EXPECT_NEAR(s.std, std::sqrt(2.0 / 900.0), 5e-4);

  init::he_normal_(t, gen);  // fan_in = 500, gain sqrt(2)
  s = stats_of(t);
  EXPECT_NEAR(s.mean, 0.0, 1e-3);
  EXPECT_NEAR(s.std, std::sqrt(2.0 / 500.0), 5e-4);

  init::he_normal_(t, gen, init::FanMode::kFanOut);
  EXPECT_NEAR(stats_of(t).std, std::sqrt(2.0 / 400.0), 5e-4);

  init::he_uniform_(t, gen);
  s = stats_of(t);
  EXPECT_NEAR(s.std, std::sqrt(2.0 / 500.0), 5e-4);  // U(-l,l) with l = sqrt(6/fan_in)
  EXPECT_LE(s.max, std::sqrt(6.0 / 500.0));

  Tensor conv = empty({64, 32, 3, 3});  // fan_in 288, fan_out 576
  init::kaiming_normal_(conv, gen, init::FanMode::kFanIn, init::gain("relu"));
  EXPECT_NEAR(stats_of(conv).std, std::sqrt(2.0 / 288.0), 1e-3);
  init::xavier_uniform_(conv, gen);
  EXPECT_NEAR(stats_of(conv).std, std::sqrt(2.0 / (288.0 + 576.0)), 5e-4);

  init::constant_(conv, 0.25);
  s = stats_of(conv);
  EXPECT_EQ(s.min, 0.25);
  EXPECT_EQ(s.max, 0.25);
  init::zeros_(conv);
  EXPECT_EQ(stats_of(conv).max, 0.0);
  init::ones_(conv);
  EXPECT_EQ(stats_of(conv).min, 1.0);
}

TEST(Init, DeterministicPerGenerator) {
  Generator a(3), b(3);
  Tensor x = empty({10, 10}), y = empty({10, 10});
  init::glorot_uniform_(x, a);
  init::glorot_uniform_(y, b);
  EXPECT_TRUE(test::all_close(x, y, 0, 0));
  init::glorot_uniform_(y, b);
  EXPECT_FALSE(test::all_close(x, y, 0, 0));
}

TEST(Init, NamedInitializers) {
  Generator gen(5);
  Tensor t = empty({200, 300});
  for (const char* name : {"glorot_uniform", "xavier_uniform", "glorot_normal", "he_uniform", "he_normal",
                           "kaiming_normal", "lecun_uniform", "lecun_normal", "random_normal", "random_uniform"}) {
    init::Initializer init(name);
    EXPECT_EQ(init.name(), name);
    init(t, gen);
    EXPECT_GT(stats_of(t).std, 0.0) << name;
  }
  init::Initializer("lecun_normal")(t, gen);
  EXPECT_NEAR(stats_of(t).std, std::sqrt(1.0 / 300.0), 5e-4);
  init::Initializer("random_uniform")(t, gen);
  EXPECT_LE(stats_of(t).max, 0.05);
  init::Initializer::constant(3.0)(t, gen);
  EXPECT_EQ(stats_of(t).min, 3.0);
  init::Initializer::normal(1.0, 0.1)(t, gen);
  EXPECT_NEAR(stats_of(t).mean, 1.0, 2e-3);
  init::Initializer::uniform(2.0, 4.0)(t, gen);
  EXPECT_NEAR(stats_of(t).mean, 3.0, 1e-2);
  init::Initializer custom([](const Tensor& x, Generator&) { fill_(x, 7.0); });
  custom(t, gen);
  EXPECT_EQ(stats_of(t).max, 7.0);
}

TEST(Init, Errors) {
  Generator gen;
  EXPECT_THROW_MSG(init::Initializer("orthogonal"), "[Initializer] unknown initializer 'orthogonal'");
  EXPECT_THROW_MSG(init::uniform_(empty({3}), gen, 1.0, 0.0), "[init::uniform_] needs a <= b, got a=1 b=0");
  EXPECT_THROW_MSG(init::normal_(empty({3}), gen, 0.0, -1.0), "[init::normal_] std must be >= 0");
  EXPECT_THROW_MSG(init::glorot_uniform_(zeros({3}, DType::kI64), gen), "[init::glorot_uniform_] expects a float");
  EXPECT_THROW_MSG(init::zeros_(Tensor()), "[init::constant_] tensor is undefined");
}

}  // namespace
}  // namespace forge::nn
