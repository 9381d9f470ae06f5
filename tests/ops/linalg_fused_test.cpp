// linear_relu (fused bias + ReLU) and the single-row GEMV path of linear: gradients, parity
// with the composed ops, errors.
#include <gtest/gtest.h>

#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "test_util.h"

namespace forge {
namespace {

TEST(LinearRelu, MatchesComposedOnGemmAndGemvPaths) {
  for (int64_t rows : {1, 3, 5, 64}) {
    Tensor x = test::randn_leaf({rows, 37}, 1);
    Tensor w = test::randn_leaf({19, 37}, 2);
    Tensor b = test::randn_leaf({19}, 3);
    EXPECT_TRUE(test::all_close(linear_relu(x, w, b), relu(matmul(x, w.t()) + b))) << rows;
    EXPECT_TRUE(test::all_close(linear(x, w, b), matmul(x, w.t()) + b)) << rows;
  }
}

TEST(LinearRelu, GemvPathMatchesGemmAcrossShapes) {
  // Widths around the kernel's 16- and 32-float steps and its masked tail; row counts around its
  // 4-row blocks; 784x128 is the seed MLP's first layer.
  for (int64_t k : {7, 16, 31, 32, 48, 57, 784}) {
    for (int64_t n : {3, 10, 128}) {
      Tensor x = test::randn_leaf({1, k}, static_cast<uint64_t>(k)).detach();
      Tensor w = test::randn_leaf({n, k}, static_cast<uint64_t>(n)).detach();
      Tensor b = test::randn_leaf({n}, 7).detach();
      // Float32 rounding grows with k (up to ~1e-4 at k = 784 for N(0, 1) data, in GEMM too),
      // so both paths are measured against a float64 reference: the GEMV may be at most 2x
      // (+1e-6) less accurate than oneDNN's GEMM.
      const Tensor ref = matmul(x.to(DType::kF64), w.to(DType::kF64).t()) + b.to(DType::kF64);
      const double err_gemv = max(abs(linear(x, w, b).to(DType::kF64) - ref)).item();
      const double err_gemm = max(abs((matmul(x, w.t()) + b).to(DType::kF64) - ref)).item();
      EXPECT_LE(err_gemv, 2 * err_gemm + 1e-6) << k << "x" << n;
      if (k <= 64) {
        EXPECT_TRUE(test::all_close(linear(x, w, b), matmul(x, w.t()) + b, 1e-5, 1e-5)) << k << "x" << n;
      }
    }
  }
}

TEST(LinearRelu, Gradients) {
  // Inputs away from the ReLU kink (finite differences across it are meaningless).
  for (int64_t rows : {1, 6}) {
    Tensor x = test::randn_leaf({rows, 5}, 4);
    Tensor w = test::randn_leaf({3, 5}, 5);
    Tensor b = test::randn_leaf({3}, 6);
    EXPECT_TRUE(test::grad_ok([](const Tensors& t) { return linear_relu(t[0], t[1], t[2]); }, {x, w, b})) << rows;
    EXPECT_TRUE(test::grad_ok([](const Tensors& t) { return linear_relu(t[0], t[1]); }, {x, w})) << rows;
  }
}

TEST(LinearRelu, Errors) {
  Tensor x = zeros({2, 4}), w = zeros({3, 5});
  EXPECT_THROW_MSG(linear_relu(x, w), "[linear_relu] input has 4 features (shape (2,4)) but weight (3,5) expects 5");
  EXPECT_THROW_MSG(linear_relu(x, zeros({3})), "[linear_relu] weight must be 2-d");
  EXPECT_THROW_MSG(linear_relu(x, zeros({3, 4}), zeros({2})), "[linear_relu] bias of shape (2,) does not match 3");
}

}  // namespace
}  // namespace forge
