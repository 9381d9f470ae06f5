// PyTorch parity for nn/loss (goldens from tools/golden/families/losses.py).
#include "golden/golden.h"
#include "nn/loss.h"

namespace forge {
namespace {

using LossFn = std::function<Tensor(const golden::Case&, const Tensor& x, Reduction r)>;

void check_case(const std::string& name, const LossFn& fn, double rtol = 1e-5) {
  const auto& c = golden::get("losses", name);
  const Reduction r = parse_reduction(c.args().at("reduction").get<std::string>());
  Tensor x = c.input(0);
  EXPECT_TRUE(c.check(fn(c, x, r), {x}, rtol)) << name;
}

void check_all_reductions(const std::string& prefix, const LossFn& fn) {
  for (const char* r : {"mean", "sum", "none"}) check_case(prefix + r, fn);
}

Tensor target(const golden::Case& c) { return c.input(1, false); }
Tensor weight(const golden::Case& c) { return c.input(2, false); }

TEST(GoldenLosses, Regression) {
  check_all_reductions("mse_", [](const auto& c, const Tensor& x, Reduction r) { return mse_loss(x, target(c), r); });
  check_all_reductions("mae_", [](const auto& c, const Tensor& x, Reduction r) { return mae_loss(x, target(c), r); });
  auto huber = [](const golden::Case& c, const Tensor& x, Reduction r) {
    return huber_loss(x, target(c), c.args().at("delta").get<double>(), r);
  };
  check_all_reductions("huber_", huber);
  check_case("huber_delta", huber);
}

TEST(GoldenLosses, Binary) {
  check_all_reductions(
      "bce_", [](const auto& c, const Tensor& x, Reduction r) { return binary_cross_entropy(x, target(c), r); });
  check_all_reductions("bce_weight_", [](const auto& c, const Tensor& x, Reduction r) {
    return binary_cross_entropy(x, target(c), r, weight(c));
  });
  auto with_logits = [](const golden::Case& c, const Tensor& x, Reduction r) {
    return binary_cross_entropy_with_logits(x, target(c), r);
  };
  check_all_reductions("bce_logits_", with_logits);
  check_case("bce_logits_extreme", with_logits);
  check_all_reductions("bce_logits_weight_", [](const auto& c, const Tensor& x, Reduction r) {
    return binary_cross_entropy_with_logits(x, target(c), r, weight(c));
  });
  const auto& c = golden::get("losses", "bce_saturated");
  EXPECT_TRUE(c.expect("out", binary_cross_entropy(c.input(0, false), target(c), Reduction::kNone)));
}

TEST(GoldenLosses, Categorical) {
  check_all_reductions(
      "cce_", [](const auto& c, const Tensor& x, Reduction r) { return categorical_cross_entropy(x, target(c), r); });
  auto with_logits = [](const golden::Case& c, const Tensor& x, Reduction r) {
    return categorical_cross_entropy_with_logits(x, target(c), r);
  };
  check_all_reductions("cce_logits_", with_logits);
  check_case("cce_logits_extreme", with_logits);
}

TEST(GoldenLosses, SparseCategorical) {
  check_all_reductions("scce_", [](const auto& c, const Tensor& x, Reduction r) {
    return sparse_categorical_cross_entropy(x, target(c), r);
  });
  check_all_reductions("scce_weight_", [](const auto& c, const Tensor& x, Reduction r) {
    return sparse_categorical_cross_entropy(x, target(c), r, weight(c));
  });
  auto with_logits = [](const golden::Case& c, const Tensor& x, Reduction r) {
    return sparse_categorical_cross_entropy_with_logits(x, target(c), r);
  };
  check_all_reductions("scce_logits_", with_logits);
  check_case("scce_logits_extreme", with_logits);
  check_case("scce_logits_large", with_logits);
  check_all_reductions("scce_logits_weight_", [](const auto& c, const Tensor& x, Reduction r) {
    return sparse_categorical_cross_entropy_with_logits(x, target(c), r, weight(c));
  });
  // int32 class ids give the same result.
  check_case("scce_logits_mean", [](const auto& c, const Tensor& x, Reduction r) {
    return sparse_categorical_cross_entropy_with_logits(x, target(c).to(DType::kI32), r);
  });
}

}  // namespace
}  // namespace forge
