// PyTorch parity for optim (goldens from tools/golden/families/optim.py): optimizer
// trajectories and state, LR schedules, gradient clipping.
#include <cmath>
#include <limits>
#include <memory>

#include "golden/golden.h"
#include "optim/clip.h"
#include "optim/optimizers.h"
#include "optim/schedule.h"

namespace forge {
namespace {

using nlohmann::json;

template <typename Options>
void read_adam_like(const json& o, Options& opts) {
  opts.lr = o.value("lr", opts.lr);
  opts.beta1 = o.value("beta1", opts.beta1);
  opts.beta2 = o.value("beta2", opts.beta2);
  opts.eps = o.value("eps", opts.eps);
  opts.weight_decay = o.value("weight_decay", opts.weight_decay);
  opts.amsgrad = o.value("amsgrad", opts.amsgrad);
}

template <typename Params>
std::unique_ptr<Optimizer> make_optimizer(const std::string& kind, const json& o, Params params) {
  if (kind == "SGD") {
    SGDOptions opts;
    opts.lr = o.value("lr", opts.lr);
    opts.momentum = o.value("momentum", opts.momentum);
    opts.dampening = o.value("dampening", opts.dampening);
    opts.nesterov = o.value("nesterov", opts.nesterov);
    opts.weight_decay = o.value("weight_decay", opts.weight_decay);
    return std::make_unique<SGD>(std::move(params), opts);
  }
  if (kind == "Adam") {
    AdamOptions opts;
    read_adam_like(o, opts);
    return std::make_unique<Adam>(std::move(params), opts);
  }
  if (kind == "AdamW") {
    AdamWOptions opts;
    read_adam_like(o, opts);
    return std::make_unique<AdamW>(std::move(params), opts);
  }
  if (kind == "RMSprop") {
    RMSpropOptions opts;
    opts.lr = o.value("lr", opts.lr);
    opts.alpha = o.value("alpha", opts.alpha);
    opts.eps = o.value("eps", opts.eps);
    opts.momentum = o.value("momentum", opts.momentum);
    opts.centered = o.value("centered", opts.centered);
    opts.weight_decay = o.value("weight_decay", opts.weight_decay);
    return std::make_unique<RMSprop>(std::move(params), opts);
  }
  AdagradOptions opts;
  opts.lr = o.value("lr", opts.lr);
  opts.lr_decay = o.value("lr_decay", opts.lr_decay);
  opts.initial_accumulator_value = o.value("initial_accumulator_value", opts.initial_accumulator_value);
  opts.eps = o.value("eps", opts.eps);
  opts.weight_decay = o.value("weight_decay", opts.weight_decay);
  return std::make_unique<Adagrad>(std::move(params), opts);
}

void check_trajectory(const std::string& name) {
  SCOPED_TRACE(name);
  const auto& c = golden::get("optim", name);
  const json& args = c.args();
  NamedTensors params;
  for (const char* p : {"fc.weight", "fc.bias"}) params.push_back({p, c.get(p, true)});
  std::unique_ptr<Optimizer> opt;
  if (args.contains("groups")) {
    std::vector<ParamGroup> groups;
    for (const json& g : args["groups"]) {
      ParamGroup group;
      for (const auto& p : g["params"]) {
        for (const NamedTensor& t : params) {
          if (t.name == p.get<std::string>()) group.params.push_back(t);
        }
      }
      if (g.contains("weight_decay")) group.weight_decay = g["weight_decay"].get<double>();
      if (g.contains("lr_scale")) group.lr_scale = g["lr_scale"].get<double>();
      groups.push_back(group);
    }
    opt = make_optimizer(args["optimizer"], args["options"], groups);
  } else {
    opt = make_optimizer(args["optimizer"], args["options"], params);
  }
  const int64_t steps = args["steps"];
  std::map<std::string, int64_t> param_steps;
  for (int64_t k = 0; k < steps; ++k) {
    for (const NamedTensor& p : params) {
      const std::string role = "grad" + std::to_string(k) + "/" + p.name;
      if (c.has(role)) {
        p.tensor.set_grad(c.get(role));
        ++param_steps[p.name];
      } else {
        p.tensor.zero_grad();
      }
    }
    opt->step();
  }
  for (const NamedTensor& p : params) EXPECT_TRUE(c.expect("final/" + p.name, p.tensor));
  for (const NamedTensor& s : opt->state_tensors()) {
    EXPECT_TRUE(c.has("state/" + s.name)) << "no reference for state " << s.name;
    if (c.has("state/" + s.name)) {
      EXPECT_TRUE(c.expect("state/" + s.name, s.tensor));
    }
  }
  const auto scalars = opt->state_scalars();
  EXPECT_EQ(opt->step_count(), steps);
  for (const NamedTensor& p : params) EXPECT_EQ(scalars.at(p.name + ".step"), param_steps[p.name]) << p.name;
}

TEST(GoldenOptim, SGD) {
  for (const char* name : {"sgd", "sgd_momentum", "sgd_dampening", "sgd_nesterov", "sgd_weight_decay", "sgd_groups"}) {
    check_trajectory(name);
  }
}

TEST(GoldenOptim, Adam) {
  for (const char* name : {"adam", "adam_amsgrad", "adam_weight_decay", "adam_skip"}) check_trajectory(name);
}

TEST(GoldenOptim, AdamW) {
  for (const char* name : {"adamw", "adamw_amsgrad", "adamw_groups"}) check_trajectory(name);
}

TEST(GoldenOptim, RMSprop) {
  for (const char* name : {"rmsprop", "rmsprop_centered", "rmsprop_momentum", "rmsprop_all"}) check_trajectory(name);
}

TEST(GoldenOptim, Adagrad) {
  for (const char* name : {"adagrad", "adagrad_decay"}) check_trajectory(name);
}

TEST(GoldenOptim, Schedules) {
  const auto& a = golden::get("optim", "sched_warmup_linear").args();
  const double base = a["base_lr"];
  auto compare = [](const std::string& name, const LRSchedule& s, int64_t steps) {
    const auto& c = golden::get("optim", name);
    std::vector<float> lrs;
    for (int64_t k = 0; k < steps; ++k) lrs.push_back(static_cast<float>(s.lr_at(k)));
    EXPECT_TRUE(test::all_close(from_vector(lrs, {steps}), c.get("lr").slice(0, 0, steps).contiguous(), 1e-5, 1e-9))
        << name;
  };
  compare("sched_step", StepLR(base, 3, 0.5), 13);
  compare("sched_exponential", ExponentialLR(base, 0.9), 13);
  compare("sched_cosine", CosineLR(base, 12, 0.001), 13);
  compare("sched_warmup_linear", WarmupLinear(base, a["warmup"], a["total"], a["min_lr"]), 13);
  compare("sched_warmup_cosine", WarmupCosine(base, a["warmup"], a["total"], a["min_lr"]), 13);
}

TEST(GoldenOptim, Clipping) {
  for (const char* name : {"clip_norm", "clip_norm_noop", "clip_norm_inf", "clip_norm_p1", "clip_value"}) {
    SCOPED_TRACE(name);
    const auto& c = golden::get("optim", name);
    NamedTensors params;
    for (const char* p : {"a", "b"}) {
      Tensor grad = c.get(std::string("grad/") + p);
      Tensor t = zeros(grad.shape()).set_requires_grad(true);
      t.set_grad(grad);
      params.push_back({p, t});
    }
    if (c.args().contains("clip")) {
      clip_grad_value(params, c.args()["clip"].get<double>());
    } else {
      const json& nt = c.args()["norm_type"];
      const double norm_type = nt.is_string() ? std::numeric_limits<double>::infinity() : nt.get<double>();
      const double total = clip_grad_norm(params, c.args()["max_norm"].get<double>(), norm_type);
      EXPECT_TRUE(c.expect("total_norm", from_vector({static_cast<float>(total)}, {1})));
    }
    for (const NamedTensor& p : params) EXPECT_TRUE(c.expect("clipped/" + p.name, p.tensor.grad()));
  }
}

}  // namespace
}  // namespace forge
