#include "nn/module.h"

#include <fmt/format.h>

#include <set>

#include "autograd/grad_mode.h"
#include "nn/conv_stack.h"
#include "nn/dense_stack.h"
#include "nn/layers/conv.h"
#include "ops/elementwise.h"

namespace forge::nn {

namespace {

std::string join_names(const std::vector<std::string>& names) {
  constexpr size_t kMaxListed = 20;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kMaxListed; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > kMaxListed) out += fmt::format(", ... ({} in all)", names.size());
  return out;
}

}  // namespace

// Each module gets its own stream, drawn from the global one at construction.
Module::Module() : generator_(default_generator().next_u64()) {}

Tensor Module::forward(const Tensor& input) {
  fail("[{}] this module has no forward(x); call its children or a specific overload", name());
}

Shape Module::output_shape(const Shape& input) const {
  fail("[{}] output_shape is not implemented for this module", name());
}

void Module::check_new_name(const std::string& name, const char* what) const {
  FORGE_CHECK(!name.empty(), "[{}] {} name must not be empty", this->name(), what);
  FORGE_CHECK(name.find('.') == std::string::npos, "[{}] {} name '{}' must not contain '.'", this->name(), what, name);
  auto taken = [&](const auto& list) {
    for (const auto& entry : list) {
      if (entry.first == name) return true;
    }
    return false;
  };
  FORGE_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_),
              "[{}] cannot register {} '{}': the name is already used", this->name(), what, name);
}

Tensor Module::register_parameter(const std::string& name, const Tensor& tensor) {
  check_new_name(name, "parameter");
  FORGE_CHECK(tensor.defined(), "[{}] parameter '{}' is undefined", this->name(), name);
  FORGE_CHECK(tensor.is_leaf(), "[{}] parameter '{}' must be a leaf tensor (detach it first)", this->name(), name);
  Tensor p = tensor;
  p.set_requires_grad(true);
  parameters_.emplace_back(name, p);
  return p;
}

Tensor Module::register_buffer(const std::string& name, const Tensor& tensor) {
  check_new_name(name, "buffer");
  FORGE_CHECK(tensor.defined(), "[{}] buffer '{}' is undefined", this->name(), name);
  buffers_.emplace_back(name, tensor);
  return tensor;
}

void Module::add_child(const std::string& name, ModulePtr module) {
  check_new_name(name, "module");
  FORGE_CHECK(module != nullptr, "[{}] module '{}' is null", this->name(), name);
  FORGE_CHECK(module.get() != this, "[{}] a module cannot be its own child", this->name());
  children_.emplace_back(name, std::move(module));
}

void Module::collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const {
  if (params) {
    for (const auto& [n, t] : parameters_) out.push_back({prefix + n, t});
  }
  if (buffers) {
    for (const auto& [n, t] : buffers_) out.push_back({prefix + n, t});
  }
  for (const auto& [n, child] : children_) child->collect(prefix + n + ".", params, buffers, out);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect("", true, false, out);
  return out;
}

NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect("", false, true, out);
  return out;
}

Tensors Module::parameters() const {
  Tensors out;
  for (auto& nt : named_parameters()) out.push_back(nt.tensor);
  return out;
}

NamedTensors Module::state() const {
  NamedTensors out = named_parameters();
  for (auto& nt : named_buffers()) out.push_back(nt);
  return out;
}

void Module::collect_modules(const std::string& prefix, NamedModules& out, const ModulePtr& self) {
  out.emplace_back(prefix, self);
  for (const auto& [n, child] : children_) {
    child->collect_modules(prefix.empty() ? n : prefix + "." + n, out, child);
  }
}

NamedModules Module::named_modules() {
  NamedModules out;
  // The root is reported without ownership (it may live on the stack in tests).
  collect_modules("", out, ModulePtr(ModulePtr(), this));
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const auto& nt : named_parameters()) n += nt.tensor.numel();
  return n;
}

Tensor Module::tensor(const std::string& name) const {
  for (const auto& [n, t] : parameters_) {
    if (n == name) return t;
  }
  for (const auto& [n, t] : buffers_) {
    if (n == name) return t;
  }
  fail("[{}] has no parameter or buffer named '{}'", this->name(), name);
}

void Module::prepare_load(const std::string& prefix, const std::map<std::string, Tensor>& state) {
  std::map<std::string, Tensor> own;
  for (auto it = state.lower_bound(prefix); it != state.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    own.emplace(it->first.substr(prefix.size()), it->second);
  }
  if (!own.empty()) build_from_state(own);
  for (const auto& [n, child] : children_) child->prepare_load(prefix + n + ".", state);
}

LoadReport Module::load_state(const NamedTensors& state, bool strict) {
  std::map<std::string, Tensor> given;
  for (const auto& nt : state) {
    FORGE_CHECK(nt.tensor.defined(), "[load_state] tensor '{}' is undefined", nt.name);
    FORGE_CHECK(given.emplace(nt.name, nt.tensor).second, "[load_state] name '{}' appears twice in the state", nt.name);
  }
  prepare_load("", given);

  const NamedTensors own = this->state();
  LoadReport report;
  std::vector<std::string> mismatched;
  std::set<std::string> own_names;
  for (const auto& nt : own) {
    own_names.insert(nt.name);
    auto it = given.find(nt.name);
    if (it == given.end()) {
      report.missing.push_back(nt.name);
    } else if (it->second.shape() != nt.tensor.shape()) {
      mismatched.push_back(fmt::format("'{}' is {} in the module but {} in the state", nt.name,
                                       shape_str(nt.tensor.shape()), shape_str(it->second.shape())));
    }
  }
  for (const auto& [n, t] : given) {
    if (!own_names.count(n)) report.unexpected.push_back(n);
  }
  FORGE_CHECK(mismatched.empty(), "[load_state] {}: shape mismatch: {}", name(), join_names(mismatched));
  if (strict && (!report.missing.empty() || !report.unexpected.empty())) {
    std::string msg;
    if (!report.missing.empty()) msg += "missing from the state: " + join_names(report.missing);
    if (!report.unexpected.empty()) {
      msg += std::string(msg.empty() ? "" : "; ") + "unexpected in the state: " + join_names(report.unexpected);
    }
    fail("[load_state] {}: {}", name(), msg);
  }
  NoGradGuard no_grad;
  for (const auto& nt : own) {
    auto it = given.find(nt.name);
    if (it != given.end()) copy_(nt.tensor, it->second);
  }
  return report;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, child] : children_) child->train(on);
}

void Module::zero_grad() {
  for (auto& nt : named_parameters()) nt.tensor.zero_grad();
}

// ---- Sequential

Sequential::Sequential(std::initializer_list<ModulePtr> layers) {
  for (const auto& layer : layers) add(layer);
}

Sequential& Sequential::add(ModulePtr layer) {
  register_module(std::to_string(size()), std::move(layer));
  return *this;
}

const ModulePtr& Sequential::at(size_t i) const {
  FORGE_CHECK(i < size(), "[Sequential] index {} out of range for {} layers", i, size());
  return named_children()[i].second;
}

Tensor Sequential::forward(const Tensor& input) {
  // MLP inference on a few rows: no tensor per hidden layer (nn/dense_stack.h).
  if (Tensor y = dense_stack_forward(*this, input); y.defined()) return y;
  // Small CNN inference on a few images: channels-last kernels, no tensor per layer (nn/conv_stack.h).
  if (Tensor y = conv_stack_forward(*this, input); y.defined()) return y;
  Tensor x = input;
  const auto& layers = named_children();
  for (size_t i = 0; i < layers.size(); ++i) {
    // Conv2D / Conv1D (relu) + max pooling run as one op (forward_then_pool).
    if (i + 1 < layers.size()) {
      if (auto* conv = dynamic_cast<Conv2D*>(layers[i].second.get())) {
        x = conv->forward_then_pool(x, *layers[++i].second);
        continue;
      }
      if (auto* conv = dynamic_cast<Conv1D*>(layers[i].second.get())) {
        x = conv->forward_then_pool(x, *layers[++i].second);
        continue;
      }
    }
    x = layers[i].second->forward(x);
  }
  return x;
}

Shape Sequential::output_shape(const Shape& input) const {
  Shape s = input;
  for (const auto& [n, layer] : named_children()) s = layer->output_shape(s);
  return s;
}

void Sequential::build(const Shape& input_shape) {
  Shape s = input_shape;
  for (const auto& [n, layer] : named_children()) {
    layer->build(s);
    s = layer->output_shape(s);
  }
}

// ---- ModuleList

ModuleList& ModuleList::add(ModulePtr module) {
  register_module(std::to_string(size()), std::move(module));
  return *this;
}

const ModulePtr& ModuleList::at(size_t i) const {
  FORGE_CHECK(i < size(), "[ModuleList] index {} out of range for {} modules", i, size());
  return named_children()[i].second;
}

}  // namespace forge::nn
