// PyTorch parity for ops/reduce, ops/linalg and ops/view.
#include "golden/golden.h"

namespace forge {
namespace {

void check(const std::string& name, const std::function<Tensor(const Tensors&)>& fn, size_t n_inputs = 1) {
  const auto& c = golden::get("reduce", name);
  Tensors inputs;
  for (size_t i = 0; i < n_inputs; ++i) inputs.push_back(c.input(i));
  EXPECT_TRUE(c.check(fn(inputs), inputs)) << name;
}

TEST(GoldenReduce, Reductions) {
  check("sum_all", [](const Tensors& x) { return sum(x[0]); });
  check("sum_axis1_keep", [](const Tensors& x) { return sum(x[0], {1}, true); });
  check("sum_axes02", [](const Tensors& x) { return sum(x[0], {0, 2}); });
  check("mean_last", [](const Tensors& x) { return mean(x[0], {-1}); });
  check("max_axis1", [](const Tensors& x) { return max(x[0], {1}); });
  check("min_all", [](const Tensors& x) { return min(x[0]); });
  check("var_axis2", [](const Tensors& x) { return var(x[0], {2}); });
  check("var_all_biased", [](const Tensors& x) { return var(x[0], {}, false, 0); });
  check("logsumexp_last", [](const Tensors& x) { return logsumexp(x[0], {-1}); });
  const auto& c = golden::get("reduce", "argmax_axis1");
  EXPECT_EQ(argmax(c.input(0, false), 1).to_vector<int64_t>(), c.get("out").to_vector<int64_t>());
}

TEST(GoldenReduce, Matmul) {
  check("matmul_2d", [](const Tensors& x) { return matmul(x[0], x[1]); }, 2);
  check("matmul_batched_broadcast", [](const Tensors& x) { return matmul(x[0], x[1]); }, 2);
  check("matmul_vec", [](const Tensors& x) { return matmul(x[0], x[1]); }, 2);
  check("matmul_transposed", [](const Tensors& x) { return matmul(x[0].t(), x[1]); }, 2);
  check("linear", [](const Tensors& x) { return linear(x[0], x[1], x[2]); }, 3);
}

TEST(GoldenReduce, Views) {
  check("permute_slice", [](const Tensors& x) { return mul(x[0].permute({2, 0, 1}).slice(0, 1, 4, 2), 2.0); });
  check("expand_reshape", [](const Tensors& x) {
    return mul(x[0].slice(1, 0, 1).expand({2, 3, 4}).reshape({6, 4}), arange(0, 4));
  });
}

}  // namespace
}  // namespace forge
