#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "core/random.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace forge {

namespace {
double objective(const Tensor& out, const std::vector<double>& weights) {
  const std::vector<double> values = out.to_vector<double>();
  double total = 0;
  for (size_t i = 0; i < values.size(); ++i) total += values[i] * weights[i];
  return total;
}
}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const Tensors&)>& f, const Tensors& inputs,
                          const GradcheckOptions& options) {
  GradcheckResult result;
  Generator gen(options.seed);
  for (const Tensor& input : inputs) {
    if (input.defined() && input.requires_grad()) input.zero_grad();
  }
  Tensor out = f(inputs);
  std::vector<double> weights(static_cast<size_t>(out.numel()));
  for (double& w : weights) w = gen.uniform() * 2.0 - 1.0;
  Tensor w = from_vector<double>(weights, out.shape()).to(DType::kF32);
  sum(mul(out, w)).backward();

  NoGradGuard no_grad;
  for (size_t index = 0; index < inputs.size(); ++index) {
    const Tensor& input = inputs[index];
    if (!input.defined() || !input.requires_grad()) continue;
    FORGE_CHECK(input.is_contiguous() && input.dtype() == DType::kF32,
                "[gradcheck] input {} must be a contiguous float32 leaf", index);
    Tensor analytic = input.grad().defined() ? input.grad().contiguous() : zeros(input.shape());
    const std::vector<float> grad = analytic.to_vector<float>();
    float* p = input.data<float>();
    for (int64_t i = 0; i < input.numel(); ++i) {
      const float saved = p[i];
      p[i] = static_cast<float>(saved + options.eps);
      const double plus = objective(f(inputs), weights);
      p[i] = static_cast<float>(saved - options.eps);
      const double minus = objective(f(inputs), weights);
      p[i] = saved;
      const double numeric = (plus - minus) / (2.0 * options.eps);
      const double analytic_value = grad[static_cast<size_t>(i)];
      const double error = std::fabs(numeric - analytic_value);
      result.max_abs_error = std::max(result.max_abs_error, error);
      if (result.ok && !(error <= options.atol + options.rtol * std::fabs(numeric))) {
        result.ok = false;
        result.message = fmt::format("input {} element {}: analytic {:.6g} vs numeric {:.6g}", index, i,
                                     analytic_value, numeric);
      }
    }
  }
  return result;
}

}  // namespace forge
