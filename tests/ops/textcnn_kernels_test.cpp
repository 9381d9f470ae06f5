// Kernels sped up for the text CNN row: the typed strided copy (permute -> contiguous) and the
// vectorized relu gradient, each against a scalar reference on odd shapes.
#include <cmath>
#include <limits>

#include "backend/cpu/cast.h"
#include "backend/cpu/conv_fused.h"
#include "test_util.h"

namespace forge {
namespace {

// Every element of a permuted view read through logical indices must land in the contiguous copy.
template <typename T>
void check_permuted_copy(DType dtype) {
  const Shape shape{3, 7, 5};
  const int64_t n = 3 * 7 * 5;
  std::vector<T> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = static_cast<T>(i % 100 + 1);
  Tensor base = from_vector<T>(values, shape);
  ASSERT_EQ(base.dtype(), dtype);
  const Tensor view = base.permute({0, 2, 1});  // [3, 5, 7], inner stride 5
  ASSERT_FALSE(view.is_contiguous());
  const Tensor copy = view.contiguous();
  ASSERT_TRUE(copy.is_contiguous());
  const T* out = copy.data<T>();
  for (int64_t a = 0; a < 3; ++a)
    for (int64_t b = 0; b < 5; ++b)
      for (int64_t c = 0; c < 7; ++c)
        ASSERT_EQ(out[(a * 5 + b) * 7 + c], values[static_cast<size_t>((a * 7 + c) * 5 + b)])
            << dtype_name(dtype) << " at " << a << "," << b << "," << c;
}

TEST(TextCnnKernels, StridedCopyEveryElementSize) {
  check_permuted_copy<float>(DType::kF32);
  check_permuted_copy<double>(DType::kF64);
  check_permuted_copy<int32_t>(DType::kI32);
  check_permuted_copy<int64_t>(DType::kI64);
  check_permuted_copy<uint8_t>(DType::kU8);
  // 2-byte elements: small integers are exact in bf16.
  Tensor base = arange(0, 3 * 7 * 5).reshape({3, 7, 5});
  Tensor got = base.to(DType::kBF16).permute({0, 2, 1}).contiguous().to(DType::kF32);
  EXPECT_TRUE(test::all_close(got, base.permute({0, 2, 1}).contiguous(), 0, 0));
}

TEST(TextCnnKernels, StridedCopyIntoStridedDestination) {
  // Both sides strided: copy a transposed view into a transposed view of a fresh tensor.
  Tensor src = arange(0, 6 * 11).reshape({6, 11});
  Tensor dst = zeros({11, 6});
  cpu::copy_cast(src, dst.transpose(0, 1));
  const float* d = dst.data<float>();
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 11; ++j) ASSERT_EQ(d[j * 6 + i], static_cast<float>(i * 11 + j));
}

TEST(TextCnnKernels, ReluGradMatchesScalarReference) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t n : {1, 7, 8, 9, 31, 33, 1000, 40003}) {
    std::vector<float> g(static_cast<size_t>(n)), y(static_cast<size_t>(n)), out(static_cast<size_t>(n), 42.0f);
    for (int64_t i = 0; i < n; ++i) {
      g[static_cast<size_t>(i)] = (i % 3 == 0) ? nan : static_cast<float>(i) * 0.5f - 3.0f;
      y[static_cast<size_t>(i)] = (i % 5 == 0) ? 0.0f : ((i % 2) ? 1.5f : -2.0f);
    }
    cpu::relu_grad(g.data(), y.data(), out.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const size_t k = static_cast<size_t>(i);
      if (y[k] > 0.0f) {
        ASSERT_TRUE(out[k] == g[k] || (std::isnan(out[k]) && std::isnan(g[k]))) << "n=" << n << " i=" << i;
      } else {
        ASSERT_EQ(out[k], 0.0f) << "n=" << n << " i=" << i;  // a NaN gradient below zero is dropped
      }
    }
  }
}

// The conv's backward reuses the forward's f32 copy of a permuted input: gradients through a
// permuted conv1d+relu must still match finite differences.
TEST(TextCnnKernels, PermutedConv1dReluGradcheck) {
  Tensor x = test::randn_leaf({2, 9, 3}, 11);  // [N, L, C] as an embedding output
  Tensor w = test::randn_leaf({4, 3, 3}, 12);
  Tensor b = test::randn_leaf({4}, 13);
  EXPECT_TRUE(test::grad_ok(
      [](const Tensors& t) { return conv1d_relu(t[0].permute({0, 2, 1}), t[1], t[2]); }, {x, w, b}));
}

}  // namespace
}  // namespace forge
