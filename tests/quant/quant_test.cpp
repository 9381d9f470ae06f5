// Dequantization / quantization against the gguf package (tools/gguf/gen_quant_refs.py writes
// tests/quant/data/quant_refs.gguf) and the quantized matmul paths against dequantize + f32.
#include "ops/quant.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "autograd/grad_mode.h"
#include "core/random.h"
#include "formats/gguf.h"
#include "ops/linalg.h"
#include "test_util.h"

namespace forge {
namespace {

const GgufFile& refs() {
  static const GgufFile g = load_gguf(std::string(FORGE_TEST_DATA_DIR) + "/quant/data/quant_refs.gguf");
  return g;
}

const char* kAllTypes[] = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"};

TEST(Dequantize, BitExactWithGguf) {
  for (const char* type : kAllTypes) {
    SCOPED_TRACE(type);
    Tensor q = refs().tensor(std::string(type) + ".q");
    Tensor expected = refs().tensor(std::string(type) + ".deq");
    ASSERT_EQ(q.shape(), (Shape{4, 256}));
    Tensor got = dequantize(q);
    ASSERT_EQ(got.shape(), expected.shape());
    EXPECT_EQ(std::memcmp(got.data<float>(), expected.data<float>(), 1024 * sizeof(float)), 0);
    int mismatches = 0;
    for (int i = 0; i < 1024 && mismatches < 5; ++i) {
      if (got.data<float>()[i] != expected.data<float>()[i]) {
        ADD_FAILURE() << type << " element " << i << ": " << got.data<float>()[i] << " vs "
                      << expected.data<float>()[i];
        ++mismatches;
      }
    }
  }
}

TEST(Quantize, SameBytesAsGguf) {
  Tensor x = refs().tensor("x");
  for (const char* type : {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1"}) {
    SCOPED_TRACE(type);
    Tensor expected = refs().tensor(std::string(type) + ".q");
    Tensor got = quantize(x, expected.dtype());
    const size_t bytes = nbytes_for(expected.dtype(), expected.numel());
    const auto* a = static_cast<const uint8_t*>(got.raw_data());
    const auto* b = static_cast<const uint8_t*>(expected.raw_data());
    for (size_t i = 0, bad = 0; i < bytes && bad < 5; ++i) {
      if (a[i] != b[i]) {
        ADD_FAILURE() << type << " byte " << i << ": " << int(a[i]) << " vs " << int(b[i]);
        ++bad;
      }
    }
  }
}

// gguf has no K-quant quantizer: check the round trip error against the format's resolution.
TEST(Quantize, KQuantsRoundTrip) {
  Tensor x = refs().tensor("x");
  for (DType type : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1}) {
    SCOPED_TRACE(std::string(dtype_name(type)));
    Tensor back = dequantize(quantize(x, type));
    const float* a = x.data<float>();
    const float* b = back.data<float>();
    double err2 = 0, ref2 = 0;
    for (int i = 0; i < 1024; ++i) {
      err2 += (a[i] - b[i]) * (a[i] - b[i]);
      ref2 += a[i] * a[i];
    }
    const double rel = std::sqrt(err2 / ref2);
    // relative RMS error bounds: 8 bits ~0.5%, 6 bits ~2%, 5 bits ~4%, 4 bits ~10%
    const double bound = type == DType::kQ8_0 ? 0.01 : type == DType::kQ6_K ? 0.03 : type == DType::kQ5_K ? 0.06 : 0.12;
    EXPECT_LT(rel, bound);
  }
  // zero rows survive every format
  Tensor z = zeros({1, 256});
  for (DType type :
       {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1}) {
    Tensor back = dequantize(quantize(z, type));
    for (int i = 0; i < 256; ++i) ASSERT_EQ(back.data<float>()[i], 0.0f) << dtype_name(type);
  }
}

TEST(Quantize, Errors) {
  EXPECT_THROW_MSG(quantize(ones({2, 100}), DType::kQ4_K),
                   "last dimension 100 is not a multiple of the q4_K block size 256");
  EXPECT_THROW_MSG(quantize(ones({2, 32}), DType::kI32), "[quantize] cannot quantize to");
  EXPECT_THROW_MSG(quantize(ones({2, 32}, DType::kI32), DType::kQ8_0), "input must be a float tensor, got int32");
  EXPECT_THROW_MSG(dequantize(ones({2}, DType::kI64)), "expected a float or quantized tensor, got int64");
}

// Each weight type x each kernel path vs dequantize + f32 matmul. The only differences are the
// 8-bit activation quantization (relative error ~0.4% per block) and summation order, so the
// bound is 2% of the output scale (max |y_ref|).
// K = 224 (7 blocks) exercises the odd-block tails of the paired SIMD loops.
TEST(QuantLinear, EveryPathMatchesDequantizedMatmul) {
  for (int64_t K : {512, 224}) {
    const int64_t M = 3, N = 37;
    Tensor x = test::randn_tensor({M, K}, 1);
    Tensor w = test::randn_tensor({N, K}, 2);
    Tensor bias = test::randn_tensor({N}, 3);
    for (DType type : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ4_K, DType::kQ6_K}) {
      if (K % block_size(type) != 0) continue;
      Tensor wq = quantize(w, type);
      Tensor ref = linear(x, dequantize(wq), bias);
      float scale = 0;
      for (int64_t i = 0; i < ref.numel(); ++i) scale = std::max(scale, std::fabs(ref.data<float>()[i]));
      for (cpu::QuantIsa isa : {cpu::QuantIsa::kScalar, cpu::QuantIsa::kAvx2, cpu::QuantIsa::kAvx512Vnni}) {
        SCOPED_TRACE(std::string(dtype_name(type)) + " " + cpu::quant_isa_name(isa));
        if (!cpu::quant_isa_supported(isa)) continue;  // an ISA this CPU lacks; the scalar path always runs
        Tensor y = quant_linear(x, wq, bias, isa);
        ASSERT_EQ(y.shape(), (Shape{M, N}));
        float max_err = 0;
        for (int64_t i = 0; i < y.numel(); ++i) {
          max_err = std::max(max_err, std::fabs(y.data<float>()[i] - ref.data<float>()[i]));
        }
        EXPECT_LT(max_err, 0.02f * scale);
      }
      // the SIMD paths compute the same integer sums as the scalar reference
      Tensor ys = quant_linear(x, wq, bias, cpu::QuantIsa::kScalar);
      for (cpu::QuantIsa isa : {cpu::QuantIsa::kAvx2, cpu::QuantIsa::kAvx512Vnni}) {
        if (!cpu::quant_isa_supported(isa)) continue;
        Tensor yi = quant_linear(x, wq, bias, isa);
        for (int64_t i = 0; i < ys.numel(); ++i) {
          ASSERT_NEAR(yi.data<float>()[i], ys.data<float>()[i], 1e-4f * scale)
              << dtype_name(type) << " " << cpu::quant_isa_name(isa) << " " << i;
        }
      }
    }
  }
}

TEST(QuantLinear, BatchedShapesFloatWeightsAndFallback) {
  Tensor x = test::randn_tensor({2, 3, 64}, 4);
  Tensor w = test::randn_tensor({5, 64}, 5);
  Tensor y = quant_linear(x, quantize(w, DType::kQ8_0));
  EXPECT_EQ(y.shape(), (Shape{2, 3, 5}));
  // f32 / bf16 weights go through linear
  Tensor yf = quant_linear(x, w);
  Tensor yb = quant_linear(x, w.to(DType::kBF16));
  for (int64_t i = 0; i < yf.numel(); ++i) {
    EXPECT_NEAR(y.data<float>()[i], yf.data<float>()[i], 0.05f * 8);
    EXPECT_NEAR(yb.data<float>()[i], yf.data<float>()[i], 0.1f);
  }
  // Q5_0 has no integer kernel: dequantized fallback, exact against linear(dequantize)
  Tensor w5 = quantize(w, DType::kQ5_0);
  Tensor y5 = quant_linear(x, w5);
  Tensor r5 = linear(x, dequantize(w5));
  for (int64_t i = 0; i < y5.numel(); ++i) EXPECT_FLOAT_EQ(y5.data<float>()[i], r5.data<float>()[i]);
}

TEST(QuantLinear, Errors) {
  Tensor wq = quantize(ones({4, 32}), DType::kQ4_0);
  EXPECT_THROW_MSG(quant_linear(ones({2, 31}), wq), "input features 31 do not match the weight (4,32)");
  EXPECT_THROW_MSG(quant_linear(ones({2, 32}), wq, ones({3})), "bias must be [4], got (3,)");
  EXPECT_THROW_MSG(quant_linear(ones({2, 32}), ones({32})), "weight must be 2-d");
  Tensor xg = ones({2, 32});
  xg.set_requires_grad();
  EXPECT_THROW_MSG(quant_linear(xg, wq), "inference-only");
  NoGradGuard guard;
  EXPECT_EQ(quant_linear(xg, wq).shape(), (Shape{2, 4}));
}

}  // namespace
}  // namespace forge
