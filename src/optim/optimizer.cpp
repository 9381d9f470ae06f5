#include "optim/optimizer.h"

#include <cmath>
#include <set>

#include "ops/elementwise.h"

namespace forge {

Optimizer::Optimizer(NamedTensors params) { init({ParamGroup{std::move(params), std::nullopt, std::nullopt}}); }

Optimizer::Optimizer(std::vector<ParamGroup> groups) { init(std::move(groups)); }

Optimizer::~Optimizer() = default;

void Optimizer::init(std::vector<ParamGroup> groups) {
  std::set<std::string> names;
  std::set<const TensorImpl*> seen;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    ParamGroup& group = groups[gi];
    if (group.weight_decay) {
      FORGE_CHECK(*group.weight_decay >= 0, "[optimizer] param group {} has negative weight_decay {}", gi,
                  *group.weight_decay);
    }
    if (group.lr_scale) {
      FORGE_CHECK(*group.lr_scale >= 0, "[optimizer] param group {} has negative lr_scale {}", gi, *group.lr_scale);
    }
    for (NamedTensor& p : group.params) {
      FORGE_CHECK(!p.name.empty(), "[optimizer] a parameter has an empty name");
      FORGE_CHECK(p.tensor.defined(), "[optimizer] parameter '{}' is undefined", p.name);
      FORGE_CHECK(p.tensor.dtype() == DType::kF32, "[optimizer] parameter '{}' must be float32, got {}", p.name,
                  dtype_name(p.tensor.dtype()));
      FORGE_CHECK(p.tensor.is_contiguous(), "[optimizer] parameter '{}' must be contiguous", p.name);
      FORGE_CHECK(names.insert(p.name).second, "[optimizer] parameter name '{}' appears twice", p.name);
      FORGE_CHECK(seen.insert(p.tensor.impl()).second, "[optimizer] parameter '{}' is the same tensor as another one",
                  p.name);
      params_.push_back(std::move(p));
      weight_decay_.push_back(group.weight_decay);
      lr_scale_.push_back(group.lr_scale.value_or(1.0));
    }
  }
  FORGE_CHECK(!params_.empty(), "[optimizer] got an empty parameter list");
  param_steps_.assign(params_.size(), 0);
  state_.resize(params_.size());
}

void Optimizer::zero_grad() {
  for (const NamedTensor& p : params_) p.tensor.zero_grad();
}

void Optimizer::set_lr(double lr) {
  FORGE_CHECK(std::isfinite(lr) && lr >= 0, "[{}] learning rate must be a non-negative number, got {}", name(), lr);
  lr_ = lr;
}

size_t Optimizer::add_slot(const std::string& slot, double initial) {
  slot_names_.push_back(slot);
  for (size_t i = 0; i < params_.size(); ++i) state_[i].push_back(full(params_[i].tensor.shape(), initial));
  return slot_names_.size() - 1;
}

NamedTensors Optimizer::state_tensors() const {
  NamedTensors out;
  for (size_t i = 0; i < params_.size(); ++i) {
    for (size_t s = 0; s < slot_names_.size(); ++s)
      out.push_back({params_[i].name + "." + slot_names_[s], state_[i][s]});
  }
  return out;
}

void Optimizer::load_state_tensors(const NamedTensors& state) {
  std::map<std::string, Tensor> expected;
  for (const NamedTensor& t : state_tensors()) expected.emplace(t.name, t.tensor);
  std::set<std::string> given;
  for (const NamedTensor& t : state) {
    auto it = expected.find(t.name);
    FORGE_CHECK(it != expected.end(), "[{}] unknown state tensor '{}' (expected '<param name>.<slot>' with slots {})",
                name(), t.name, slot_names_);
    FORGE_CHECK(given.insert(t.name).second, "[{}] state tensor '{}' is given twice", name(), t.name);
    FORGE_CHECK(t.tensor.defined(), "[{}] state tensor '{}' is undefined", name(), t.name);
    FORGE_CHECK(t.tensor.shape() == it->second.shape(), "[{}] state tensor '{}' has shape {}, parameter needs {}",
                name(), t.name, shape_str(t.tensor.shape()), shape_str(it->second.shape()));
    FORGE_CHECK(is_floating(t.tensor.dtype()), "[{}] state tensor '{}' has non-float dtype {}", name(), t.name,
                dtype_name(t.tensor.dtype()));
  }
  for (const auto& [key, value] : expected) {
    FORGE_CHECK(given.count(key) != 0, "[{}] state tensor '{}' is missing", name(), key);
  }
  NoGradGuard no_grad;
  for (const NamedTensor& t : state) copy_(expected.at(t.name), t.tensor);
}

std::map<std::string, double> Optimizer::state_scalars() const {
  std::map<std::string, double> out;
  out["lr"] = lr_;
  out["step_count"] = static_cast<double>(step_count_);
  for (size_t i = 0; i < params_.size(); ++i) out[params_[i].name + ".step"] = static_cast<double>(param_steps_[i]);
  return out;
}

void Optimizer::load_state_scalars(const std::map<std::string, double>& scalars) {
  const std::map<std::string, double> expected = state_scalars();
  for (const auto& [key, value] : scalars) {
    FORGE_CHECK(expected.count(key) != 0,
                "[{}] unknown state scalar '{}' (expected 'lr', 'step_count' and '<param name>.step')", name(), key);
    if (key != "lr") {
      FORGE_CHECK(value >= 0 && value == std::floor(value), "[{}] state scalar '{}' must be a count, got {}", name(),
                  key, value);
    }
  }
  for (const auto& [key, value] : expected) {
    FORGE_CHECK(key == "lr" || scalars.count(key) != 0, "[{}] state scalar '{}' is missing", name(), key);
  }
  if (auto it = scalars.find("lr"); it != scalars.end()) set_lr(it->second);
  step_count_ = static_cast<int64_t>(scalars.at("step_count"));
  for (size_t i = 0; i < params_.size(); ++i) {
    param_steps_[i] = static_cast<int64_t>(scalars.at(params_[i].name + ".step"));
  }
}

}  // namespace forge
