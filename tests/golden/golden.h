#pragma once
// Harness for the PyTorch goldens written by tools/golden/gen_goldens.py.
//
// Tolerance: |forge - torch| <= rtol * |torch| + rtol * max|torch| per tensor, rtol = 1e-5 by
// default. The second term keeps elements that cancel to ~0 from demanding absolute
// precision beyond float32; it is still 1e-5 of the tensor's scale.
#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "test_util.h"

namespace forge::golden {

class Case {
 public:
  Case(std::string name, std::map<std::string, Tensor> tensors, nlohmann::json args)
      : name_(std::move(name)), tensors_(std::move(tensors)), args_(std::move(args)) {}

  const std::string& name() const { return name_; }
  const nlohmann::json& args() const { return args_; }
  bool has(const std::string& role) const { return tensors_.count(role) != 0; }
  // A fresh contiguous copy; float tensors are leaves that require grad when requires_grad.
  Tensor get(const std::string& role, bool requires_grad = false) const;
  Tensor input(size_t i, bool requires_grad = true) const { return get("in" + std::to_string(i), requires_grad); }

  // Compares `outputs` against out, out1, ...; then runs backward with gout, gout1, ... and
  // compares the gradients of `inputs[i]` against grad{i} (where present).
  ::testing::AssertionResult check(const Tensors& outputs, const Tensors& inputs, double rtol = 1e-5) const;
  ::testing::AssertionResult check(const Tensor& output, const Tensors& inputs, double rtol = 1e-5) const {
    return check(Tensors{output}, inputs, rtol);
  }
  // Compares one tensor against a stored role.
  ::testing::AssertionResult expect(const std::string& role, const Tensor& actual, double rtol = 1e-5) const;

 private:
  std::string name_;
  std::map<std::string, Tensor> tensors_;
  nlohmann::json args_;
};

// Loads tests/golden/data/<family>.safetensors (cached).
const std::map<std::string, Case>& family(const std::string& name);
const Case& get(const std::string& family_name, const std::string& case_name);

// A layer's forward inputs for a gradient check: the input, then the layer's parameters.
inline Tensors inputs_of(const Tensor& x, const nn::Module& layer) {
  Tensors in{x};
  for (const auto& t : layer.parameters()) in.push_back(t);
  return in;
}

}  // namespace forge::golden
