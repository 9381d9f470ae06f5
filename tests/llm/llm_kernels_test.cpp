// The inference kernels the pretrained models share (models/llm_kernels.h): packed linear layers,
// shared activation quantization, and the decode attention pass, against plain references.
#include "models/llm_kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/attention.h"
#include "backend/cpu/quant_packed.h"
#include "core/random.h"
#include "ops/quant.h"
#include "test_util.h"

namespace forge {
namespace {

Tensor randn_tensor(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return randn(shape, 0.0, 1.0, &gen);
}

// A tied embedding read from the output matrix's packed copy gives the same floats as the table
// (row counts not a multiple of 16 included); packing runs on any CPU.
TEST(LlmKernels, EmbeddingRowFromPackedCopyIsBitExact) {
  for (DType type : {DType::kQ4_0, DType::kQ4_1, DType::kQ8_0}) {
    for (const auto& [rows, dim] : {std::pair<int64_t, int64_t>{1, 32}, {37, 96}, {64, 576}}) {
      SCOPED_TRACE(std::string(dtype_name(type)) + " " + std::to_string(rows) + "x" + std::to_string(dim));
      Tensor table = quantize(randn_tensor({rows, dim}, 5), type);
      const cpu::PackedQuantMatrix packed = cpu::pack_quant_rows(table.raw_data(), type, rows, dim);
      std::vector<float> want(static_cast<size_t>(dim)), got(static_cast<size_t>(dim), -7.0f);
      for (int64_t r = 0; r < rows; ++r) {
        models::embedding_row(table, r, want.data());
        models::embedding_row(packed, r, got.data());
        ASSERT_EQ(got, want) << "row " << r;
      }
      EXPECT_THROW(models::embedding_row(packed, rows, got.data()), Error);
      EXPECT_THROW(models::embedding_row(packed, -1, got.data()), Error);
    }
  }
}

TEST(LlmKernels, PackedLinearMatchesScalarKernelAndSharedQuantizationIsExact) {
  const int64_t K = 96, M = 5;
  Tensor x = randn_tensor({M, K}, 1);
  Tensor wa = quantize(randn_tensor({21, K}, 2), DType::kQ4_1);
  Tensor wb = quantize(randn_tensor({40, K}, 3), DType::kQ8_0);
  const models::LinearWeight a = models::make_linear(wa, {}, "a"), b = models::make_linear(wb, {}, "b");
  if (!cpu::packed_quant_supported(DType::kQ4_1)) GTEST_SKIP() << "this CPU lacks AVX2 and AVX-512 (no packed weights)";
  ASSERT_TRUE(a.packed && b.packed);
  std::vector<float> scratch, ya(M * 21), yb(M * 40), sa(M * 21), sb(M * 40), ref(M * 21);
  models::linear_into(a, x.data<float>(), M, ya.data(), scratch);
  models::linear_into(b, x.data<float>(), M, yb.data(), scratch);
  models::linears_into({{&a, sa.data()}, {&b, sb.data()}}, x.data<float>(), M, scratch);
  EXPECT_EQ(ya, sa);  // one quantization of x shared by both layers: same bits
  EXPECT_EQ(yb, sb);
  cpu::quant_matmul(x.data<float>(), M, K, wa.raw_data(), DType::kQ4_1, 21, nullptr, ref.data(),
                    cpu::QuantIsa::kScalar);
  for (size_t i = 0; i < ref.size(); ++i) EXPECT_NEAR(ya[i], ref[i], 1e-4f * (1.0f + std::fabs(ref[i])));
}

// attend_cached against a direct softmax(q k^T / sqrt(d)) v per head, grouped-query layout.
TEST(LlmKernels, AttendCachedMatchesReference) {
  // hd 16 and 72: the AVX2 path (8 positions per step, 64-float output chunks); hd 12: the scalar
  // loop. len 37: full steps of 8 and a partial one.
  for (int64_t hd : {16, 72, 12}) {
    SCOPED_TRACE("hd " + std::to_string(hd));
    const int64_t kv_heads = 3, group = 3, len = 37, stride = kv_heads * hd + 8;  // padded rows
    const int64_t heads = kv_heads * group;
    Tensor q = randn_tensor({heads * hd}, 4), k = randn_tensor({len * stride}, 5), v = randn_tensor({len * stride}, 6);
    const float scale = 0.25f;
    std::vector<float> scores(heads * len), out(heads * hd);
    models::attend_cached(q.data<float>(), kv_heads, group, hd, k.data<float>(), v.data<float>(), stride, len, scale,
                          scores.data(), out.data());
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t j = h / group;
      std::vector<double> p(len);
      double mx = -1e300, sum = 0.0;
      for (int64_t s = 0; s < len; ++s) {
        double dot = 0.0;
        for (int64_t e = 0; e < hd; ++e) dot += q.data<float>()[h * hd + e] * k.data<float>()[s * stride + j * hd + e];
        p[s] = dot * scale;
        mx = std::max(mx, p[s]);
      }
      for (auto& x : p) sum += (x = std::exp(x - mx));
      for (int64_t e = 0; e < hd; ++e) {
        double o = 0.0;
        for (int64_t s = 0; s < len; ++s) o += p[s] / sum * v.data<float>()[s * stride + j * hd + e];
        EXPECT_NEAR(out[h * hd + e], o, 1e-5) << "head " << h << " element " << e;
      }
    }
  }
}

// A position's score and a head's output do not depend on how many positions follow or which
// other heads share the call (the fused decode splits heads over threads; decode and prefill see
// different lengths).
TEST(LlmKernels, AttendCachedIsIndependentOfLengthAndHeadSplit) {
  const int64_t kv_heads = 2, group = 3, hd = 64, stride = kv_heads * hd, heads = kv_heads * group;
  Tensor q = randn_tensor({heads * hd}, 7), k = randn_tensor({40 * stride}, 8), v = randn_tensor({40 * stride}, 9);
  for (int64_t len : {1, 7, 8, 9, 17, 40}) {
    std::vector<float> s_all(static_cast<size_t>(heads * len)), s_one(static_cast<size_t>(len + 5));
    cpu::attention_scores(q.data<float>(), kv_heads, group, hd, k.data<float>(), stride, len, 0.125f, s_all.data());
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t longer = std::min<int64_t>(40, len + 5);  // more positions after them
      cpu::attention_scores(q.data<float>() + h * hd, 1, 1, hd, k.data<float>() + (h / group) * hd, stride, longer,
                            0.125f, s_one.data());
      for (int64_t s = 0; s < len; ++s) {
        ASSERT_EQ(s_one[static_cast<size_t>(s)], s_all[static_cast<size_t>(h * len + s)]);
      }
    }
    std::vector<float> scores(static_cast<size_t>(heads * len)), all(static_cast<size_t>(heads * hd)),
        part(static_cast<size_t>(hd));
    models::attend_cached(q.data<float>(), kv_heads, group, hd, k.data<float>(), v.data<float>(), stride, len, 0.125f,
                          scores.data(), all.data());
    for (int64_t h = 0; h < heads; ++h) {
      models::attend_cached(q.data<float>() + h * hd, 1, 1, hd, k.data<float>() + (h / group) * hd,
                            v.data<float>() + (h / group) * hd, stride, len, 0.125f, scores.data(), part.data());
      for (int64_t e = 0; e < hd; ++e) ASSERT_EQ(part[static_cast<size_t>(e)], all[static_cast<size_t>(h * hd + e)]);
    }
  }
}

// The attention's row softmax (8 lanes and a scalar tail) against a double reference, with
// scores far below the maximum (exp underflows to exactly 0).
TEST(LlmKernels, AttentionSoftmaxRowMatchesReference) {
  for (int64_t n : {1, 7, 8, 9, 33, 200}) {
    Tensor t = randn_tensor({n}, 10 + n);
    std::vector<float> row(t.data<float>(), t.data<float>() + n);
    for (int64_t i = 0; i < n; i += 5) row[static_cast<size_t>(i)] *= 20.0f;
    if (n > 3) row[2] = -1e30f;
    std::vector<double> ref(row.begin(), row.end());
    const double mx = *std::max_element(ref.begin(), ref.end());
    double sum = 0.0;
    for (double& x : ref) sum += (x = std::exp(x - mx));
    cpu::attention_softmax_row(row.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_NEAR(row[static_cast<size_t>(i)], ref[static_cast<size_t>(i)] / sum,
                  1e-5 * (ref[static_cast<size_t>(i)] / sum) + 1e-30)  // x - max in float: ~|x| ulp
          << "n " << n << " index " << i;
    }
    if (n > 3) {
      EXPECT_EQ(row[2], 0.0f);
    }
  }
}

TEST(LlmKernels, SoftmaxAndSiluHandleExtremeInputs) {
  // differences beyond expf's fast range take the libm path: still a valid distribution
  std::vector<float> x = {0.0f, -100.0f, -1e30f, 5.0f};
  models::softmax_inplace(x.data(), 4);
  EXPECT_NEAR(x[0] + x[1] + x[2] + x[3], 1.0f, 1e-6f);
  EXPECT_EQ(x[2], 0.0f);
  EXPECT_NEAR(x[3], 1.0f / (1.0f + std::exp(-5.0f)), 1e-6f);
  std::vector<float> a = {-200.0f, 200.0f, 1.0f}, b = {1.0f, 1.0f, 2.0f};
  models::silu_mul(a.data(), b.data(), 3);
  EXPECT_EQ(a[0], -0.0f);
  EXPECT_FLOAT_EQ(a[1], 200.0f);
  EXPECT_FLOAT_EQ(a[2], 2.0f / (1.0f + std::exp(-1.0f)));
  EXPECT_THROW_MSG(models::make_linear(Tensor{}, {}, "w"), "missing weight tensor 'w'");
}

}  // namespace
}  // namespace forge
