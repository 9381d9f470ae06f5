// The 16-row interleaved weight layout (backend/cpu/quant_packed.h): packing is a bit-exact,
// invertible rearrangement, and the packed AVX-512 VNNI kernel computes the scalar reference's
// integer sums on the original layout, across odd shapes (row counts not a multiple of 16, one
// block, many activation rows).
#include "backend/cpu/quant_packed.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/random.h"
#include "ops/quant.h"
#include "test_util.h"

namespace forge {
namespace {

Tensor randn_tensor(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, 0.0, 1.0, &gen);
}

// The packed layout's kernel needs AVX-512 VNNI; elsewhere the row-layout kernels run instead.
#define FORGE_REQUIRE_PACKED()                                                                      \
  do {                                                                                              \
    if (!cpu::packed_quant_supported(DType::kQ4_1)) GTEST_SKIP() << "this CPU lacks AVX-512 VNNI"; \
  } while (false)

const DType kTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ8_0};
const std::pair<int64_t, int64_t> kShapes[] = {{1, 32}, {15, 64}, {16, 32}, {17, 96}, {40, 224}, {57, 576}};

TEST(QuantPacked, LayoutRoundTripsBitExact) {
  // Packing and unpacking are plain C++: checked on every CPU.
  for (DType type : kTypes) {
    for (const auto& [N, K] : kShapes) {
      SCOPED_TRACE(std::string(dtype_name(type)) + " " + std::to_string(N) + "x" + std::to_string(K));
      Tensor wq = quantize(randn_tensor({N, K}, 11), type);
      const auto p = cpu::pack_quant_rows(wq.raw_data(), type, N, K);
      EXPECT_EQ(p.groups, (N + 15) / 16);
      EXPECT_EQ(p.nbytes(), nbytes_for(type, p.groups * 16 * K));  // same bytes, padded to 16 rows
      const size_t row_bytes = nbytes_for(type, K);
      std::vector<uint8_t> row(row_bytes);
      const auto* src = static_cast<const uint8_t*>(wq.raw_data());
      for (int64_t r = 0; r < N; ++r) {
        cpu::unpack_quant_row(p, r, row.data());
        ASSERT_EQ(std::memcmp(row.data(), src + static_cast<size_t>(r) * row_bytes, row_bytes), 0) << "row " << r;
      }
      // dequantizing through the packed layout equals dequantizing the original rows
      std::vector<float> a(static_cast<size_t>(N * K)), b(static_cast<size_t>(N * K));
      cpu::dequantize_row(type, src, a.data(), N * K);
      cpu::dequantize_packed_rows(p, 0, N, b.data());
      ASSERT_EQ(a, b);
    }
  }
}

TEST(QuantPacked, MatmulMatchesScalarReference) {
  FORGE_REQUIRE_PACKED();
  for (DType type : kTypes) {
    for (const auto& [N, K] : kShapes) {
      for (int64_t M : {1, 3, 4, 9}) {
        SCOPED_TRACE(std::string(dtype_name(type)) + " " + std::to_string(M) + "x" + std::to_string(N) + "x" +
                     std::to_string(K));
        Tensor wq = quantize(randn_tensor({N, K}, 21), type);
        Tensor x = randn_tensor({M, K}, 22);
        std::vector<float> ref(static_cast<size_t>(M * N)), got(static_cast<size_t>(M * N), -1.0f);
        cpu::quant_matmul(x.data<float>(), M, K, wq.raw_data(), type, N, nullptr, ref.data(), cpu::QuantIsa::kScalar);
        const auto p = cpu::pack_quant_rows(wq.raw_data(), type, N, K);
        cpu::packed_quant_matmul(p, x.data<float>(), M, got.data());
        float scale = 0.0f;
        for (float v : ref) scale = std::max(scale, std::fabs(v));
        // Same integer block sums; only the float accumulation order differs.
        for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(got[i], ref[i], 1e-5f * scale + 1e-6f) << "index " << i;
      }
    }
  }
}

// A row's result must not depend on how many rows are multiplied at once (the micro-kernel
// takes 4 rows at a time): decode and a batched forward then agree exactly.
TEST(QuantPacked, RowResultIndependentOfBatch) {
  FORGE_REQUIRE_PACKED();
  const int64_t N = 33, K = 160, M = 7;
  for (DType type : kTypes) {
    Tensor wq = quantize(randn_tensor({N, K}, 31), type);
    Tensor x = randn_tensor({M, K}, 32);
    const auto p = cpu::pack_quant_rows(wq.raw_data(), type, N, K);
    std::vector<float> all(static_cast<size_t>(M * N)), one(static_cast<size_t>(N));
    cpu::packed_quant_matmul(p, x.data<float>(), M, all.data());
    for (int64_t m = 0; m < M; ++m) {
      cpu::packed_quant_matmul(p, x.data<float>() + m * K, 1, one.data());
      for (int64_t n = 0; n < N; ++n) ASSERT_EQ(one[static_cast<size_t>(n)], all[static_cast<size_t>(m * N + n)]);
    }
  }
}

TEST(QuantPacked, Errors) {
  std::vector<uint8_t> buf(1024);
  EXPECT_THROW_MSG(cpu::pack_quant_rows(buf.data(), DType::kQ4_K, 4, 256), "no packed layout for weight dtype q4_K");
  EXPECT_THROW_MSG(cpu::pack_quant_rows(buf.data(), DType::kQ8_0, 4, 48),
                   "shape [4, 48] must be positive with K a multiple of 32");
  const auto p = cpu::pack_quant_rows(buf.data(), DType::kQ8_0, 2, 32);
  EXPECT_THROW_MSG(cpu::unpack_quant_row(p, 2, buf.data()), "row 2 out of range [0, 2)");
}

}  // namespace
}  // namespace forge
