#include "train/compile.h"

#include <algorithm>
#include <map>
#include <optional>

#include "core/error.h"
#include "nn/loss.h"
#include "ops/reduce.h"
#include "optim/optimizers.h"

namespace forge::train {
namespace {

using nlohmann::json;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Reads optimizer / schedule options with type checks; rejects unknown keys.
class Options {
 public:
  Options(const json& spec, std::string where, std::vector<std::string> valid) : spec_(spec), where_(std::move(where)) {
    valid.insert(valid.begin(), "name");
    for (const auto& [key, value] : spec.items())
      FORGE_CHECK(std::find(valid.begin(), valid.end(), key) != valid.end(),
                  "{} unknown option '{}'; valid options: {}", where_, key, join(valid));
  }
  double number(const std::string& key, double fallback) const {
    if (!spec_.contains(key)) return fallback;
    FORGE_CHECK(spec_[key].is_number(), "{} option '{}' must be a number, got {}", where_, key, spec_[key].dump());
    return spec_[key].get<double>();
  }
  int64_t integer(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    if (!spec_.contains(key)) {
      FORGE_CHECK(fallback.has_value(), "{} missing required option '{}'", where_, key);
      return *fallback;
    }
    FORGE_CHECK(spec_[key].is_number_integer(), "{} option '{}' must be an integer, got {}", where_, key,
                spec_[key].dump());
    return spec_[key].get<int64_t>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!spec_.contains(key)) return fallback;
    FORGE_CHECK(spec_[key].is_boolean(), "{} option '{}' must be true or false, got {}", where_, key,
                spec_[key].dump());
    return spec_[key].get<bool>();
  }
  double lr(double fallback) const {
    FORGE_CHECK(!(spec_.contains("lr") && spec_.contains("learning_rate")),
                "{} give either 'lr' or 'learning_rate', not both", where_);
    return spec_.contains("learning_rate") ? number("learning_rate", fallback) : number("lr", fallback);
  }

 private:
  const json& spec_;
  std::string where_;
};

const std::vector<std::string> kLosses = {"mse",
                                          "mae",
                                          "huber",
                                          "binary_crossentropy",
                                          "binary_crossentropy_from_logits",
                                          "categorical_crossentropy",
                                          "categorical_crossentropy_from_logits",
                                          "sparse_categorical_crossentropy",
                                          "sparse_categorical_crossentropy_from_logits"};

// Mean over every axis but the first: [N, ...] -> [N].
Tensor per_row(const Tensor& loss) {
  if (loss.dim() <= 1) return loss.dim() == 0 ? loss.reshape({1}) : loss;
  Axes axes;
  for (int64_t a = 1; a < loss.dim(); ++a) axes.push_back(a);
  return mean(loss, axes);
}

}  // namespace

std::shared_ptr<Optimizer> make_optimizer(const nlohmann::json& spec, NamedTensors params) {
  json s = spec.is_string() ? json{{"name", spec}} : spec;
  FORGE_CHECK(s.is_object() && s.contains("name") && s["name"].is_string(),
              "[optimizer] expected {{\"name\": \"adam\", \"lr\": 0.001, ...}}, got {}", s.dump());
  std::string name = s["name"].get<std::string>();
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  const std::string where = "[optimizer] " + name + ":";
  if (name == "sgd") {
    Options o(s, where, {"lr", "learning_rate", "momentum", "dampening", "nesterov", "weight_decay"});
    SGDOptions opt;
    opt.lr = o.lr(opt.lr);
    opt.momentum = o.number("momentum", 0);
    opt.dampening = o.number("dampening", 0);
    opt.nesterov = o.boolean("nesterov", false);
    opt.weight_decay = o.number("weight_decay", 0);
    return std::make_shared<SGD>(std::move(params), opt);
  }
  if (name == "adam" || name == "adamw") {
    Options o(
        s, where,
        {"lr", "learning_rate", "beta1", "beta2", "beta_1", "beta_2", "eps", "epsilon", "weight_decay", "amsgrad"});
    auto common = [&](auto& opt) {
      opt.lr = o.lr(opt.lr);
      opt.beta1 = o.number("beta_1", o.number("beta1", opt.beta1));
      opt.beta2 = o.number("beta_2", o.number("beta2", opt.beta2));
      opt.eps = o.number("epsilon", o.number("eps", opt.eps));
      opt.weight_decay = o.number("weight_decay", opt.weight_decay);
      opt.amsgrad = o.boolean("amsgrad", false);
    };
    if (name == "adam") {
      AdamOptions opt;
      common(opt);
      return std::make_shared<Adam>(std::move(params), opt);
    }
    AdamWOptions opt;
    common(opt);
    return std::make_shared<AdamW>(std::move(params), opt);
  }
  if (name == "rmsprop") {
    Options o(s, where,
              {"lr", "learning_rate", "alpha", "rho", "eps", "epsilon", "momentum", "centered", "weight_decay"});
    RMSpropOptions opt;
    opt.lr = o.lr(opt.lr);
    opt.alpha = o.number("rho", o.number("alpha", opt.alpha));
    opt.eps = o.number("epsilon", o.number("eps", opt.eps));
    opt.momentum = o.number("momentum", 0);
    opt.centered = o.boolean("centered", false);
    opt.weight_decay = o.number("weight_decay", 0);
    return std::make_shared<RMSprop>(std::move(params), opt);
  }
  if (name == "adagrad") {
    Options o(s, where,
              {"lr", "learning_rate", "lr_decay", "initial_accumulator_value", "eps", "epsilon", "weight_decay"});
    AdagradOptions opt;
    opt.lr = o.lr(opt.lr);
    opt.lr_decay = o.number("lr_decay", 0);
    opt.initial_accumulator_value = o.number("initial_accumulator_value", 0);
    opt.eps = o.number("epsilon", o.number("eps", opt.eps));
    opt.weight_decay = o.number("weight_decay", 0);
    return std::make_shared<Adagrad>(std::move(params), opt);
  }
  fail("[optimizer] unknown optimizer '{}'; valid optimizers: sgd, adam, adamw, rmsprop, adagrad", name);
}

std::shared_ptr<LRSchedule> make_schedule(const nlohmann::json& spec, double base_lr) {
  if (spec.is_null() || (spec.is_object() && spec.empty())) return nullptr;
  FORGE_CHECK(spec.is_object() && spec.contains("name") && spec["name"].is_string(),
              "[schedule] expected {{\"name\": \"cosine\", ...}}, got {}", spec.dump());
  const std::string name = spec["name"].get<std::string>();
  const std::string where = "[schedule] " + name + ":";
  if (name == "constant") {
    Options o(spec, where, {"lr"});
    return std::make_shared<ConstantLR>(o.number("lr", base_lr));
  }
  if (name == "step") {
    Options o(spec, where, {"step_size", "gamma"});
    return std::make_shared<StepLR>(base_lr, o.integer("step_size"), o.number("gamma", 0.1));
  }
  if (name == "exponential") {
    Options o(spec, where, {"gamma"});
    FORGE_CHECK(spec.contains("gamma"), "{} missing required option 'gamma'", where);
    return std::make_shared<ExponentialLR>(base_lr, o.number("gamma", 1.0));
  }
  if (name == "cosine") {
    Options o(spec, where, {"total_steps", "min_lr"});
    return std::make_shared<CosineLR>(base_lr, o.integer("total_steps"), o.number("min_lr", 0));
  }
  if (name == "warmup_linear" || name == "warmup_cosine") {
    Options o(spec, where, {"warmup", "total_steps", "min_lr"});
    if (name == "warmup_linear")
      return std::make_shared<WarmupLinear>(base_lr, o.integer("warmup"), o.integer("total_steps"),
                                            o.number("min_lr", 0));
    return std::make_shared<WarmupCosine>(base_lr, o.integer("warmup"), o.integer("total_steps"),
                                          o.number("min_lr", 0));
  }
  fail(
      "[schedule] unknown schedule '{}'; valid schedules: constant, step, exponential, cosine, warmup_linear, "
      "warmup_cosine",
      name);
}

std::vector<std::string> loss_names() { return kLosses; }

void check_loss_name(const std::string& name) {
  FORGE_CHECK(std::find(kLosses.begin(), kLosses.end(), name) != kLosses.end(),
              "[compile] unknown loss '{}'; valid losses: {}", name, join(kLosses));
}

Tensor per_sample_loss(const std::string& name, const Tensor& pred, const Tensor& target) {
  FORGE_CHECK(target.defined(), "[loss] {}: the data set has no targets", name);
  FORGE_CHECK(pred.dim() >= 1 && target.dim() >= 1 && pred.size(0) == target.size(0),
              "[loss] {}: predictions {} and targets {} have different batch sizes", name, shape_str(pred),
              shape_str(target));
  if (name.rfind("sparse_", 0) == 0) {
    Tensor t = target;
    if (t.dim() == 2 && t.size(1) == 1) t = t.reshape({t.size(0)});
    FORGE_CHECK(t.dim() == 1, "[loss] {}: targets must be class ids [N], got {}", name, shape_str(target));
    if (t.dtype() != DType::kI64 && t.dtype() != DType::kI32) t = t.to(DType::kI64);
    FORGE_CHECK(pred.dim() == 2, "[loss] {}: predictions must be [N, classes], got {}", name, shape_str(pred));
    return name == "sparse_categorical_crossentropy"
               ? sparse_categorical_cross_entropy(pred, t, Reduction::kNone)
               : sparse_categorical_cross_entropy_with_logits(pred, t, Reduction::kNone);
  }
  Tensor t = target.dtype() == DType::kF32 ? target : target.to(DType::kF32);
  if (t.shape() != pred.shape()) {
    FORGE_CHECK(t.numel() == pred.numel(), "[loss] {}: targets {} do not match predictions {}", name, shape_str(target),
                shape_str(pred));
    t = t.reshape(pred.shape());
  }
  if (name == "categorical_crossentropy") return categorical_cross_entropy(pred, t, Reduction::kNone);
  if (name == "categorical_crossentropy_from_logits")
    return categorical_cross_entropy_with_logits(pred, t, Reduction::kNone);
  if (name == "mse") return per_row(mse_loss(pred, t, Reduction::kNone));
  if (name == "mae") return per_row(mae_loss(pred, t, Reduction::kNone));
  if (name == "huber") return per_row(huber_loss(pred, t, 1.0, Reduction::kNone));
  if (name == "binary_crossentropy") return per_row(binary_cross_entropy(pred, t, Reduction::kNone));
  if (name == "binary_crossentropy_from_logits")
    return per_row(binary_cross_entropy_with_logits(pred, t, Reduction::kNone));
  check_loss_name(name);
  fail("[loss] unhandled loss '{}'", name);
}

}  // namespace forge::train
