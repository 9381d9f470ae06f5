// Optimizer behaviour, state persistence and error messages (PyTorch parity lives in
// tests/golden/optim_test.cpp).
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>

#include "backend/cpu/vec_math.h"
#include "nn/loss.h"
#include "optim/clip.h"
#include "optim/optimizers.h"
#include "optim/schedule.h"
#include "optim/state.h"
#include "test_util.h"

namespace forge {
namespace {

using test::randn_leaf;
using Factory = std::function<std::unique_ptr<Optimizer>(NamedTensors)>;

NamedTensors make_params(uint64_t seed) {
  return {{"fc.weight", randn_leaf({3, 4}, seed)}, {"fc.bias", randn_leaf({4}, seed + 1)}};
}

NamedTensors clone_params(const NamedTensors& params) {
  NamedTensors out;
  for (const NamedTensor& p : params) out.push_back({p.name, p.tensor.detach().clone().set_requires_grad(true)});
  return out;
}

// Deterministic gradients for step k.
void set_grads(const NamedTensors& params, int64_t k) {
  for (size_t i = 0; i < params.size(); ++i) {
    params[i].tensor.set_grad(randn_leaf(params[i].tensor.shape(), 100 + static_cast<uint64_t>(k) * 10 + i).detach());
  }
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()) + ".safetensors")).string();
}

std::vector<std::pair<std::string, Factory>> all_optimizers() {
  return {
      {"sgd",
       [](NamedTensors p) {
         return std::make_unique<SGD>(std::move(p), SGDOptions{0.1, 0.9, 0.1, false, 0.01});
       }},
      {"adam",
       [](NamedTensors p) {
         AdamOptions o;
         o.amsgrad = true;
         o.weight_decay = 0.01;
         return std::make_unique<Adam>(std::move(p), o);
       }},
      {"adamw", [](NamedTensors p) { return std::make_unique<AdamW>(std::move(p), AdamWOptions{}); }},
      {"rmsprop",
       [](NamedTensors p) {
         RMSpropOptions o;
         o.momentum = 0.5;
         o.centered = true;
         return std::make_unique<RMSprop>(std::move(p), o);
       }},
      {"adagrad",
       [](NamedTensors p) {
         AdagradOptions o;
         o.lr_decay = 0.1;
         o.initial_accumulator_value = 0.2;
         return std::make_unique<Adagrad>(std::move(p), o);
       }},
  };
}

TEST(Optimizer, StateRoundTripMatchesUninterruptedRun) {
  for (const auto& [name, factory] : all_optimizers()) {
    SCOPED_TRACE(name);
    NamedTensors a = make_params(1);
    auto opt_a = factory(a);
    for (int64_t k = 0; k < 2; ++k) {
      set_grads(a, k);
      opt_a->step();
    }
    opt_a->set_lr(opt_a->lr() * 0.5);  // a schedule changed it: it must come back too
    const std::string path = temp_path("forge_optim_state_" + name);
    save_optimizer_state(path, *opt_a);

    NamedTensors b = clone_params(a);
    auto opt_b = factory(b);
    load_optimizer_state(path, *opt_b);
    std::filesystem::remove(path);
    EXPECT_EQ(opt_b->step_count(), 2);
    EXPECT_DOUBLE_EQ(opt_b->lr(), opt_a->lr());
    for (int64_t k = 2; k < 4; ++k) {
      set_grads(a, k);
      set_grads(b, k);
      opt_a->step();
      opt_b->step();
    }
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].tensor.to_vector<float>(), b[i].tensor.to_vector<float>()) << a[i].name;
    }
    const NamedTensors sa = opt_a->state_tensors(), sb = opt_b->state_tensors();
    ASSERT_EQ(sa.size(), sb.size());
    for (size_t i = 0; i < sa.size(); ++i) {
      EXPECT_EQ(sa[i].name, sb[i].name);
      EXPECT_EQ(sa[i].tensor.to_vector<float>(), sb[i].tensor.to_vector<float>()) << sa[i].name;
    }
  }
}

TEST(Optimizer, StateNames) {
  NamedTensors p = make_params(2);
  AdamOptions o;
  o.amsgrad = true;
  Adam adam(p, o);
  std::vector<std::string> names;
  for (const NamedTensor& t : adam.state_tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"fc.weight.exp_avg", "fc.weight.exp_avg_sq", "fc.weight.max_exp_avg_sq",
                                             "fc.bias.exp_avg", "fc.bias.exp_avg_sq", "fc.bias.max_exp_avg_sq"}));
  const auto scalars = adam.state_scalars();
  EXPECT_EQ(scalars.size(), 4u);
  EXPECT_EQ(scalars.at("fc.bias.step"), 0.0);
  EXPECT_TRUE(SGD(make_params(3)).state_tensors().empty());
}

TEST(Optimizer, SkipsParamsWithoutGradAndZeroGradDrops) {
  NamedTensors p = make_params(4);
  const auto bias_before = p[1].tensor.to_vector<float>();
  const auto weight_before = p[0].tensor.to_vector<float>();
  Adam adam(p);
  p[0].tensor.set_grad(ones({3, 4}));
  adam.step();
  EXPECT_EQ(p[1].tensor.to_vector<float>(), bias_before);
  EXPECT_NE(p[0].tensor.to_vector<float>(), weight_before);
  EXPECT_EQ(adam.state_scalars().at("fc.bias.step"), 0.0);
  EXPECT_EQ(adam.state_scalars().at("fc.weight.step"), 1.0);
  EXPECT_TRUE(p[0].tensor.requires_grad());
  EXPECT_TRUE(p[0].tensor.is_leaf());
  adam.zero_grad();
  EXPECT_FALSE(p[0].tensor.grad().defined());
  EXPECT_EQ(adam.step_count(), 1);
}

TEST(Optimizer, TrainsLinearRegression) {
  // y = x w + 0.5 with w = (1, -2, 3): Adam with the MSE loss recovers it.
  Tensor x = randn_leaf({64, 3}, 5).detach();
  Tensor w_true = from_vector({1.0f, -2.0f, 3.0f}, {3, 1});
  Tensor y = add(matmul(x, w_true), 0.5);
  NamedTensors params{{"w", zeros({3, 1}).set_requires_grad(true)}, {"b", zeros({1}).set_requires_grad(true)}};
  Adam opt(params, AdamOptions{0.1});
  CosineLR schedule(0.1, 300, 0.001);
  double loss_value = 0;
  for (int64_t step = 0; step < 300; ++step) {
    schedule.apply(opt, step);
    opt.zero_grad();
    Tensor loss = mse_loss(add(matmul(x, params[0].tensor), params[1].tensor), y);
    loss.backward();
    clip_grad_norm(params, 10.0);
    opt.step();
    loss_value = loss.item();
  }
  EXPECT_LT(loss_value, 1e-4);
  EXPECT_NEAR(params[1].tensor.item(), 0.5, 1e-2);
}

TEST(Optimizer, ParamGroupsOverrideWeightDecayAndScaleLr) {
  // With a zero gradient, SGD moves a parameter only through its weight decay.
  NamedTensors p = make_params(6);
  const float w0 = p[0].tensor.to_vector<float>()[0];
  const float b0 = p[1].tensor.to_vector<float>()[0];
  SGD sgd(std::vector<ParamGroup>{{{p[0]}, std::nullopt, 2.0}, {{p[1]}, 0.0, std::nullopt}},
          SGDOptions{0.1, 0, 0, false, 0.5});
  p[0].tensor.set_grad(zeros({3, 4}));
  p[1].tensor.set_grad(zeros({4}));
  sgd.step();
  EXPECT_FLOAT_EQ(p[0].tensor.to_vector<float>()[0], w0 * (1.0f - 0.2f * 0.5f));
  EXPECT_FLOAT_EQ(p[1].tensor.to_vector<float>()[0], b0);
}

TEST(Optimizer, SqrtNonnegIsAccurate) {
  // The fused updates use cpu::sqrt_nonneg (std::sqrt would not vectorize): ~1 ulp, subnormals included.
  double worst = 0;
  for (float x = 1e-44f; x < 1e30f; x = std::max(x * 1.01f, std::nextafter(x, 1.0f))) {
    const double r = std::sqrt(static_cast<double>(x));
    worst = std::max(worst, std::fabs(cpu::sqrt_nonneg(x) - r) / r);
  }
  EXPECT_LT(worst, 1.2e-7);
  EXPECT_EQ(cpu::sqrt_nonneg(0.0f), 0.0f);
  EXPECT_EQ(cpu::sqrt_nonneg(4.0f), 2.0f);
  EXPECT_TRUE(std::isnan(cpu::sqrt_nonneg(std::numeric_limits<float>::quiet_NaN())));
}

TEST(Schedule, ClosedForms) {
  WarmupCosine wc(1.0, 10, 110, 0.1);
  EXPECT_DOUBLE_EQ(wc.lr_at(0), 0.0);
  EXPECT_DOUBLE_EQ(wc.lr_at(5), 0.5);
  EXPECT_DOUBLE_EQ(wc.lr_at(10), 1.0);
  EXPECT_NEAR(wc.lr_at(60), 0.55, 1e-12);
  EXPECT_DOUBLE_EQ(wc.lr_at(110), 0.1);
  EXPECT_DOUBLE_EQ(wc.lr_at(500), 0.1);
  WarmupLinear wl(1.0, 10, 110, 0.0);
  EXPECT_DOUBLE_EQ(wl.lr_at(60), 0.5);
  EXPECT_DOUBLE_EQ(ConstantLR(0.3).lr_at(1000), 0.3);
  EXPECT_DOUBLE_EQ(CosineLR(1.0, 10, 0.2).lr_at(20), 0.2);
  SGD sgd(make_params(7));
  StepLR(0.1, 2, 0.5).apply(sgd, 5);
  EXPECT_DOUBLE_EQ(sgd.lr(), 0.025);
}

TEST(Clip, ParamsWithoutGradAreIgnored) {
  NamedTensors p = make_params(8);
  p[0].tensor.set_grad(full({3, 4}, 2.0));
  const double total = clip_grad_norm(p, 1.0);
  EXPECT_NEAR(total, std::sqrt(12.0 * 4.0), 1e-6);
  EXPECT_NEAR(p[0].tensor.grad().to_vector<float>()[0], 2.0 / (std::sqrt(48.0) + 1e-6), 1e-6);
  EXPECT_FALSE(p[1].tensor.grad().defined());
  EXPECT_EQ(clip_grad_norm({{"x", zeros({2})}}, 1.0), 0.0);
}

TEST(Optimizer, Errors) {
  EXPECT_THROW_MSG(SGD(make_params(9), SGDOptions{-0.1}),
                   "[SGD] learning rate must be a non-negative number, got -0.1");
  EXPECT_THROW_MSG(Adam(make_params(9), AdamOptions{1e-3, 1.0}), "[Adam] beta1 must be in [0, 1), got 1");
  EXPECT_THROW_MSG(SGD(make_params(9), SGDOptions{0.1, 0, 0, true}), "[SGD] nesterov needs momentum > 0");
  EXPECT_THROW_MSG(SGD(NamedTensors{}), "[optimizer] got an empty parameter list");
  Tensor t = randn_leaf({2}, 10);
  EXPECT_THROW_MSG(SGD(NamedTensors{{"a", t}, {"a", randn_leaf({2}, 11)}}), "parameter name 'a' appears twice");
  EXPECT_THROW_MSG(SGD(NamedTensors{{"a", t}, {"b", t}}), "parameter 'b' is the same tensor as another one");
  EXPECT_THROW_MSG(SGD(NamedTensors{{"ids", zeros({2}, DType::kI64)}}), "parameter 'ids' must be float32, got int64");
  EXPECT_THROW_MSG(SGD(NamedTensors{{"v", randn_leaf({2, 3}, 12).detach().t()}}), "parameter 'v' must be contiguous");

  NamedTensors p = make_params(13);
  Adam adam(p);
  EXPECT_THROW_MSG(adam.set_lr(-1.0), "[Adam] learning rate must be a non-negative number, got -1");
  NamedTensors state = adam.state_tensors();
  NamedTensors unknown = state;
  unknown.push_back({"fc.weight.momentum", zeros({3, 4})});
  EXPECT_THROW_MSG(adam.load_state_tensors(unknown), "[Adam] unknown state tensor 'fc.weight.momentum'");
  NamedTensors bad_shape = state;
  bad_shape[0].tensor = zeros({2, 2});
  EXPECT_THROW_MSG(adam.load_state_tensors(bad_shape),
                   "[Adam] state tensor 'fc.weight.exp_avg' has shape (2,2), parameter needs (3,4)");
  NamedTensors missing(state.begin() + 1, state.end());
  EXPECT_THROW_MSG(adam.load_state_tensors(missing), "[Adam] state tensor 'fc.weight.exp_avg' is missing");
  auto scalars = adam.state_scalars();
  scalars["momentum"] = 0.9;
  EXPECT_THROW_MSG(adam.load_state_scalars(scalars), "[Adam] unknown state scalar 'momentum'");
  scalars.erase("momentum");
  scalars["step_count"] = -1;
  EXPECT_THROW_MSG(adam.load_state_scalars(scalars), "[Adam] state scalar 'step_count' must be a count, got -1");
  scalars.erase("step_count");
  EXPECT_THROW_MSG(adam.load_state_scalars(scalars), "[Adam] state scalar 'step_count' is missing");

  // A file from another optimizer kind or other parameters is refused, leaving state intact.
  const std::string path = temp_path("forge_optim_errors");
  save_optimizer_state(path, adam);
  SGD sgd(make_params(14));
  EXPECT_THROW_MSG(load_optimizer_state(path, sgd), "holds Adam state, the optimizer is SGD");
  Adam other(NamedTensors{{"encoder.weight", randn_leaf({3, 4}, 15)}});
  EXPECT_THROW_MSG(load_optimizer_state(path, other), "[Adam] unknown state scalar 'fc.bias.step'");
  std::filesystem::remove(path);
}

TEST(Schedule, Errors) {
  EXPECT_THROW_MSG(WarmupLinear(0.1, 10, 10), "[WarmupLinear] needs 0 <= warmup < total, got warmup 10 and total 10");
  EXPECT_THROW_MSG(StepLR(0.1, 0), "[StepLR] step_size must be positive, got 0");
  EXPECT_THROW_MSG(CosineLR(-0.1, 10), "[CosineLR] base_lr must be a non-negative number, got -0.1");
  EXPECT_THROW_MSG(ExponentialLR(0.1, 0.9).lr_at(-1), "[ExponentialLR] step must be non-negative, got -1");
  EXPECT_THROW_MSG(clip_grad_norm(make_params(16), -1.0), "[clip_grad_norm] max_norm must be non-negative, got -1");
  EXPECT_THROW_MSG(clip_grad_value(make_params(16), -1.0), "[clip_grad_value] clip must be non-negative, got -1");
}

}  // namespace
}  // namespace forge
