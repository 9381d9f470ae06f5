#pragma once
// Finite-difference gradient checking.
//
// Forge's kernels compute in float32, so the check perturbs float32 inputs with central
// differences and accumulates the scalar objective L = sum(f(x) * w) (w fixed random) in
// float64. With eps = 1e-3 the float32 rounding of f contributes ~1e-4 relative error, hence
// the default tolerances below. The PyTorch goldens (tests/golden) check the same gradients to
// 1e-5 against float64 references; this check is the independent, reference-free one.
#include <functional>
#include <string>

#include "core/tensor.h"

namespace forge {

struct GradcheckOptions {
  double eps = 1e-3;
  double atol = 2e-3;
  double rtol = 2e-2;
  uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  double max_abs_error = 0;
  std::string message;  // the first mismatch: input, element, analytic, numeric
};

// f maps the inputs to one output tensor. Every input with requires_grad is checked.
GradcheckResult gradcheck(const std::function<Tensor(const Tensors&)>& f, const Tensors& inputs,
                          const GradcheckOptions& options = {});

}  // namespace forge
