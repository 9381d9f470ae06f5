// bf16 precision (ops/precision.h): matmul, linear and convolutions under PrecisionGuard(kBF16)
// against float32. Stated tolerance: relative Frobenius error <= 1e-2 (bf16 keeps 8 significant
// bits, relative rounding 2^-9 ~ 2e-3 per operand; products are accumulated in f32, so the error
// of a K-term dot product of random data stays near that per-operand bound). The results must
// also differ from f32 (proof that the bf16 kernels ran).
#include <cmath>

#include "ops/conv.h"
#include "ops/precision.h"
#include "test_util.h"

namespace forge {
namespace {

using test::randn_leaf;

double rel_error(const Tensor& a, const Tensor& b) {
  Tensor ac = a.contiguous(), bc = b.contiguous();
  const float* p = ac.data<float>();
  const float* q = bc.data<float>();
  double num = 0, den = 0;
  for (int64_t i = 0; i < ac.numel(); ++i) {
    num += (p[i] - q[i]) * (p[i] - q[i]);
    den += static_cast<double>(q[i]) * q[i];
  }
  return std::sqrt(num / den);
}

template <typename F>
void expect_bf16_close(F&& f, const char* what) {
  Tensor ref = f();
  Tensor low;
  {
    PrecisionGuard guard(Precision::kBF16);
    low = f();
  }
  EXPECT_EQ(low.shape(), ref.shape()) << what;
  const double err = rel_error(low, ref);
  EXPECT_LE(err, 1e-2) << what;
  EXPECT_GT(err, 1e-6) << what << ": bf16 result identical to f32; the bf16 kernel did not run";
}

TEST(Bf16, GuardRestoresPrecision) {
  FORGE_REQUIRE_BF16();
  EXPECT_EQ(math_precision(), Precision::kF32);
  {
    PrecisionGuard guard(Precision::kBF16);
    EXPECT_EQ(math_precision(), Precision::kBF16);
  }
  EXPECT_EQ(math_precision(), Precision::kF32);
  EXPECT_EQ(parse_precision("bf16"), Precision::kBF16);
  EXPECT_THROW_MSG(parse_precision("fp16"), "[precision] must be 'fp32' or 'bf16', got 'fp16'");
}

// Without AVX-512 the bf16 precision is refused up front with a clear error (never a oneDNN
// "could not create a primitive" mid-run); with it, it is accepted.
TEST(Bf16, RefusedClearlyWhereTheCpuHasNoBf16Kernels) {
  if (bf16_supported()) {
    EXPECT_NO_THROW(PrecisionGuard guard(Precision::kBF16));
  } else {
    EXPECT_THROW_MSG(PrecisionGuard guard(Precision::kBF16),
                     "[precision] bf16 precision needs a CPU with AVX-512 (oneDNN's bf16 kernels need avx512_core)");
    EXPECT_EQ(math_precision(), Precision::kF32);
  }
  EXPECT_EQ(parse_precision("bf16"), Precision::kBF16);  // the name parses anywhere (portable configs)
  EXPECT_THROW_MSG(parse_precision("fp16"), "[precision] must be 'fp32' or 'bf16', got 'fp16'");
}

TEST(Bf16, MatmulAndLinearWithinTolerance) {
  FORGE_REQUIRE_BF16();
  Tensor a = randn_leaf({33, 70}, 1).detach(), b = randn_leaf({70, 45}, 2).detach();
  expect_bf16_close([&] { return matmul(a, b); }, "matmul");
  expect_bf16_close([&] { return matmul(a, b.t().contiguous().t()); }, "matmul with transposed B");
  expect_bf16_close(
      [&] {
        return matmul(randn_leaf({4, 5, 16}, 3).detach(), randn_leaf({4, 16, 7}, 4).detach());
      },
      "batched matmul");
  Tensor w = randn_leaf({20, 70}, 5).detach(), bias = randn_leaf({20}, 6).detach();
  expect_bf16_close([&] { return linear(a, w, bias); }, "linear");
}

TEST(Bf16, ConvolutionsAndGradientsWithinTolerance) {
  FORGE_REQUIRE_BF16();
  Tensor x = randn_leaf({4, 8, 12, 12}, 7), w = randn_leaf({16, 8, 3, 3}, 8), b = randn_leaf({16}, 9);
  expect_bf16_close([&] { return conv2d(x.detach(), w.detach(), b.detach()); }, "conv2d");
  expect_bf16_close(
      [&] {
        return conv2d_relu(x.detach(), w.detach(), b.detach(), {1, 1}, Padding::same());
      },
      "conv2d_relu");
  expect_bf16_close(
      [&] {
        return conv1d(randn_leaf({2, 8, 20}, 10).detach(), randn_leaf({6, 8, 5}, 11).detach());
      },
      "conv1d");
  // Gradients: data and weight passes in bf16, accumulated and returned in f32.
  Tensor g = randn_leaf({4, 16, 10, 10}, 12).detach();
  auto grads = [&](int which) {
    x.zero_grad();
    w.zero_grad();
    conv2d(x, w, b).backward(g);
    return which == 0 ? x.grad() : w.grad();
  };
  expect_bf16_close([&] { return grads(0); }, "conv2d input gradient");
  expect_bf16_close([&] { return grads(1); }, "conv2d weight gradient");
  EXPECT_EQ(grads(1).dtype(), DType::kF32);
}

}  // namespace
}  // namespace forge
