// The 16-row interleaved weight layout (backend/cpu/quant_packed.h): packing is a bit-exact,
// invertible rearrangement, and each packed kernel this CPU runs (AVX2; AVX-512 VNNI) computes
// the scalar reference's integer sums on the original layout, across odd shapes (row counts not
// a multiple of 16, one block, many activation rows); where both run they agree bit for bit.
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

// The packed layout's kernels need AVX2 (or AVX-512 VNNI); elsewhere the row-layout kernels run.
#define FORGE_REQUIRE_PACKED()                                                                         \
  do {                                                                                                 \
    if (!cpu::packed_quant_supported(DType::kQ4_1)) GTEST_SKIP() << "this CPU lacks AVX2 and AVX-512"; \
  } while (false)

// The packed kernels this CPU can run.
std::vector<cpu::QuantIsa> packed_isas() {
  std::vector<cpu::QuantIsa> out;
  for (cpu::QuantIsa isa : {cpu::QuantIsa::kAvx2, cpu::QuantIsa::kAvx512Vnni}) {
    if (cpu::quant_isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

const DType kTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ8_0};
const std::pair<int64_t, int64_t> kShapes[] = {{1, 32}, {15, 64}, {16, 32}, {17, 96}, {40, 224}, {57, 576}};

TEST(QuantPacked, LayoutRoundTripsBitExact) {
  // Packing and unpacking are plain C++: checked on every CPU.
  for (DType type : kTypes) {
    for (const auto& [N, K] : kShapes) {
      SCOPED_TRACE(std::string(dtype_name(type)) + " " + std::to_string(N) + "x" + std::to_string(K));
      Tensor wq = quantize(test::randn_tensor({N, K}, 11), type);
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
  for (cpu::QuantIsa isa : packed_isas()) {
    for (DType type : kTypes) {
      for (const auto& [N, K] : kShapes) {
        for (int64_t M : {1, 2, 3, 4, 9}) {
          SCOPED_TRACE(std::string(cpu::quant_isa_name(isa)) + " " + std::string(dtype_name(type)) + " " +
                       std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K));
          Tensor wq = quantize(test::randn_tensor({N, K}, 21), type);
          Tensor x = test::randn_tensor({M, K}, 22);
          std::vector<float> ref(static_cast<size_t>(M * N)), got(static_cast<size_t>(M * N) + 16, -1.0f);
          cpu::quant_matmul(x.data<float>(), M, K, wq.raw_data(), type, N, nullptr, ref.data(), cpu::QuantIsa::kScalar);
          const auto p = cpu::pack_quant_rows(wq.raw_data(), type, N, K);
          cpu::packed_quant_matmul(p, x.data<float>(), M, got.data(), isa);
          float scale = 0.0f;
          for (float v : ref) scale = std::max(scale, std::fabs(v));
          // Same integer block sums; only the float accumulation order differs.
          for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(got[i], ref[i], 1e-5f * scale + 1e-6f) << "index " << i;
          // the padding rows of the last group are never stored
          for (size_t i = ref.size(); i < got.size(); ++i) ASSERT_EQ(got[i], -1.0f) << "index " << i;
        }
      }
    }
  }
}

// Extreme quants against activations of +-127 stay inside the AVX2 kernel's 16-bit sums, and
// both kernels give bit-identical floats (same integer sums, same float steps).
TEST(QuantPacked, KernelsAgreeBitForBit) {
  FORGE_REQUIRE_PACKED();
  const int64_t N = 35, K = 256, M = 5;
  for (DType type : kTypes) {
    SCOPED_TRACE(dtype_name(type));
    Tensor w = test::randn_tensor({N, K}, 41);
    float* wp = w.data<float>();
    // Rows 0-7: +1 but for one -1 per block (Q4_1 quants 15, Q8_0 127); rows 8-15: -1 but for one
    // +1 (Q4_0 quants 15, Q8_0 -127); the rest random.
    for (int64_t r = 0; r < 16; ++r) {
      for (int64_t k = 0; k < K; ++k) wp[r * K + k] = ((k % 32 == 5) == (r < 8)) ? -1.0f : 1.0f;
    }
    Tensor wq = quantize(w, type);
    Tensor x = test::randn_tensor({M, K}, 42);
    float* xp = x.data<float>();
    for (int64_t k = 0; k < K; ++k) {
      xp[k] = 1.0f;       // +127 after quantization
      xp[K + k] = -1.0f;  // -127
    }
    const auto p = cpu::pack_quant_rows(wq.raw_data(), type, N, K);
    std::vector<float> ref(static_cast<size_t>(M * N));
    cpu::quant_matmul(xp, M, K, wq.raw_data(), type, N, nullptr, ref.data(), cpu::QuantIsa::kScalar);
    ASSERT_GT(std::fabs(ref[0]), 0.9f * K);  // row 0 x weight row 0: nearly +K
    std::vector<std::vector<float>> outs;
    for (cpu::QuantIsa isa : packed_isas()) {
      std::vector<float> got(static_cast<size_t>(M * N));
      cpu::packed_quant_matmul(p, xp, M, got.data(), isa);
      float scale = 0.0f;
      for (float v : ref) scale = std::max(scale, std::fabs(v));
      for (size_t i = 0; i < ref.size(); ++i) {
        ASSERT_NEAR(got[i], ref[i], 1e-5f * scale + 1e-6f) << cpu::quant_isa_name(isa) << " index " << i;
      }
      outs.push_back(std::move(got));
    }
    for (size_t k = 1; k < outs.size(); ++k) EXPECT_EQ(outs[k], outs[0]);
  }
}

// A row's result must not depend on how many rows are multiplied at once (the micro-kernels
// take 4 (AVX-512) or 2 (AVX2) rows at a time): decode and a batched forward then agree exactly.
TEST(QuantPacked, RowResultIndependentOfBatch) {
  FORGE_REQUIRE_PACKED();
  const int64_t N = 33, K = 160, M = 7;
  for (DType type : kTypes) {
    Tensor wq = quantize(test::randn_tensor({N, K}, 31), type);
    Tensor x = test::randn_tensor({M, K}, 32);
    const auto p = cpu::pack_quant_rows(wq.raw_data(), type, N, K);
    for (cpu::QuantIsa isa : packed_isas()) {
      std::vector<float> all(static_cast<size_t>(M * N)), one(static_cast<size_t>(N));
      cpu::packed_quant_matmul(p, x.data<float>(), M, all.data(), isa);
      for (int64_t m = 0; m < M; ++m) {
        cpu::packed_quant_matmul(p, x.data<float>() + m * K, 1, one.data(), isa);
        for (int64_t n = 0; n < N; ++n) {
          ASSERT_EQ(one[static_cast<size_t>(n)], all[static_cast<size_t>(m * N + n)]) << cpu::quant_isa_name(isa);
        }
      }
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
  std::vector<float> x(32, 1.0f), y(2);
  EXPECT_THROW_MSG(cpu::packed_quant_matmul(p, x.data(), 1, y.data(), cpu::QuantIsa::kScalar),
                   "the packed layout has no scalar kernel");
}

}  // namespace
}  // namespace forge
