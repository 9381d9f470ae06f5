#include "golden/golden.h"

#include <cmath>

#include "formats/safetensors.h"

namespace forge::golden {

Tensor Case::get(const std::string& role, bool requires_grad) const {
  auto it = tensors_.find(role);
  if (it == tensors_.end()) throw Error("golden case '" + name_ + "' has no tensor '" + role + "'");
  Tensor t = it->second.clone();
  if (requires_grad && t.dtype() == DType::kF32) t.set_requires_grad(true);
  return t;
}

::testing::AssertionResult Case::expect(const std::string& role, const Tensor& actual, double rtol) const {
  auto it = tensors_.find(role);
  if (it == tensors_.end()) return ::testing::AssertionFailure() << name_ << ": no reference '" << role << "'";
  const Tensor& ref = it->second;
  if (!actual.defined()) return ::testing::AssertionFailure() << name_ << "/" << role << ": result is undefined";
  if (actual.shape() != ref.shape()) {
    return ::testing::AssertionFailure() << name_ << "/" << role << ": shape " << shape_str(actual.shape())
                                         << " vs reference " << shape_str(ref.shape());
  }
  const auto a = actual.to_vector<double>();
  const auto r = ref.to_vector<double>();
  double scale = 0;
  for (double v : r) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < r.size(); ++i) {
    const double tol = rtol * std::fabs(r[i]) + rtol * scale;
    if (!(std::fabs(a[i] - r[i]) <= tol) && !(std::isnan(a[i]) && std::isnan(r[i]))) {
      return ::testing::AssertionFailure() << name_ << "/" << role << " element " << i << ": forge " << a[i]
                                           << " vs torch " << r[i] << " (tolerance " << tol << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Case::check(const Tensors& outputs, const Tensors& inputs, double rtol) const {
  Tensors roots, seeds;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const std::string suffix = i == 0 ? "" : std::to_string(i);
    auto r = expect("out" + suffix, outputs[i], rtol);
    if (!r) return r;
    if (has("gout" + suffix) && outputs[i].requires_grad()) {
      roots.push_back(outputs[i]);
      seeds.push_back(get("gout" + suffix));
    }
  }
  if (roots.empty()) return ::testing::AssertionSuccess();
  // Backward of sum_i <out_i, gout_i> gives every gradient in one pass.
  Tensor total;
  for (size_t i = 0; i < roots.size(); ++i) {
    Tensor term = sum(mul(roots[i], seeds[i]));
    total = total.defined() ? add(total, term) : term;
  }
  total.backward();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string role = "grad" + std::to_string(i);
    if (!has(role)) continue;
    auto r = expect(role, inputs[i].grad().defined() ? inputs[i].grad() : zeros(inputs[i].shape()), rtol);
    if (!r) return r;
  }
  return ::testing::AssertionSuccess();
}

const std::map<std::string, Case>& family(const std::string& name) {
  static std::map<std::string, std::map<std::string, Case>> cache;
  auto it = cache.find(name);
  if (it != cache.end()) return it->second;
  SafetensorsFile file = load_safetensors(test::data_dir() + "/golden/data/" + name + ".safetensors");
  std::map<std::string, Case> cases;
  for (const auto& [case_name, args] : file.metadata) {
    std::map<std::string, Tensor> tensors;
    const std::string prefix = case_name + "/";
    for (const auto& [tensor_name, t] : file.tensors) {
      if (tensor_name.rfind(prefix, 0) == 0) tensors.emplace(tensor_name.substr(prefix.size()), t);
    }
    cases.emplace(case_name, Case(case_name, std::move(tensors), nlohmann::json::parse(args)));
  }
  return cache.emplace(name, std::move(cases)).first->second;
}

const Case& get(const std::string& family_name, const std::string& case_name) {
  const auto& cases = family(family_name);
  auto it = cases.find(case_name);
  if (it == cases.end()) throw Error("no golden case '" + case_name + "' in family '" + family_name + "'");
  return it->second;
}

}  // namespace forge::golden
