#include "test_util.h"

#include <cmath>

namespace forge::test {

::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) {
    return ::testing::AssertionFailure() << "shapes differ: " << shape_str(a.shape()) << " vs " << shape_str(b.shape());
  }
  const auto va = a.to_vector<double>();
  const auto vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    const bool both_nan = std::isnan(va[i]) && std::isnan(vb[i]);
    if (!both_nan && !(std::fabs(va[i] - vb[i]) <= atol + rtol * std::fabs(vb[i]))) {
      return ::testing::AssertionFailure() << "element " << i << ": " << va[i] << " vs " << vb[i] << " (rtol "
                                           << rtol << ", atol " << atol << ")";
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult grad_ok(const std::function<Tensor(const Tensors&)>& f, const Tensors& inputs,
                                   const GradcheckOptions& options) {
  GradcheckResult r = gradcheck(f, inputs, options);
  if (r.ok) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "gradcheck failed: " << r.message;
}

Tensor randn_leaf(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  Tensor t = randn(shape, 0.0, 1.0, &gen);
  t.set_requires_grad(true);
  return t;
}

std::string data_dir() { return FORGE_TEST_DATA_DIR; }

}  // namespace forge::test
