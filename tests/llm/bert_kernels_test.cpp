// The encoder kernels BERT inference uses (models/llm_kernels.h: erf GELU, full attention,
// fused residual + LayerNorm, bias + activation) against plain double references on odd shapes,
// and the opt-in bf16 MiniLM path against the PyTorch reference embeddings.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "llm_test_util.h"
#include "models/bert.h"
#include "models/llm_kernels.h"
#include "test_util.h"

namespace forge {
namespace {

std::vector<float> ramp(int64_t n, float scale, float shift = 0.0f) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = scale * std::sin(0.37f * static_cast<float>(i) + shift);
  return v;
}

double gelu_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

TEST(BertKernels, GeluErfMatchesReferenceAndKeepsNaN) {
  std::vector<float> x = ramp(37, 6.0f);  // odd length: vector body plus a scalar tail
  x.push_back(-30.0f);
  x.push_back(30.0f);
  x.push_back(std::numeric_limits<float>::quiet_NaN());
  const std::vector<float> in = x;
  models::gelu_inplace(x.data(), static_cast<int64_t>(x.size()), /*tanh_approx=*/false);
  for (size_t i = 0; i + 1 < x.size(); ++i) EXPECT_NEAR(x[i], gelu_ref(in[i]), 1e-6 * (1 + std::abs(in[i]))) << in[i];
  EXPECT_TRUE(std::isnan(x.back()));
}

TEST(BertKernels, AttendFullMatchesNaiveOnStridedHeads) {
  const int64_t n = 7, hd = 5, ld = 19, ld_out = 11;
  const float scale = 0.45f;
  const std::vector<float> buf = ramp(n * ld, 2.0f, 0.3f);
  const float* q = buf.data() + 1;
  const float* k = buf.data() + 1 + hd;
  const float* v = buf.data() + 1 + 2 * hd;
  std::vector<float> out(static_cast<size_t>(n * ld_out), -7.0f), scores(static_cast<size_t>(n * n));
  models::attend_full(q, k, v, ld, n, hd, scale, out.data(), ld_out, scores.data());
  for (int64_t i = 0; i < n; ++i) {
    std::vector<double> p(static_cast<size_t>(n));
    double mx = -1e300, sum = 0;
    for (int64_t s = 0; s < n; ++s) {
      double dot = 0;
      for (int64_t e = 0; e < hd; ++e) dot += static_cast<double>(q[i * ld + e]) * k[s * ld + e];
      p[static_cast<size_t>(s)] = dot * scale;
      mx = std::max(mx, p[static_cast<size_t>(s)]);
    }
    for (double& w : p) sum += (w = std::exp(w - mx));
    for (int64_t e = 0; e < hd; ++e) {
      double o = 0;
      for (int64_t s = 0; s < n; ++s) o += p[static_cast<size_t>(s)] / sum * v[s * ld + e];
      EXPECT_NEAR(out[static_cast<size_t>(i * ld_out + e)], o, 1e-5) << i << "," << e;
    }
    for (int64_t e = hd; e < ld_out; ++e) EXPECT_EQ(out[static_cast<size_t>(i * ld_out + e)], -7.0f);  // untouched
  }
}

TEST(BertKernels, AddLayerNormRowsMatchesNaive) {
  const int64_t m = 5, n = 13;
  const std::vector<float> x0 = ramp(m * n, 3.0f), h = ramp(m * n, 1.5f, 1.0f), hb = ramp(n, 0.5f, 2.0f),
                           g = ramp(n, 1.0f, 0.5f), b = ramp(n, 0.2f, 0.7f);
  for (const float* hbias : {hb.data(), static_cast<const float*>(nullptr)}) {
    std::vector<float> x = x0;
    models::add_layer_norm_rows(x.data(), h.data(), hbias, m, n, g.data(), b.data(), 1e-5f);
    for (int64_t i = 0; i < m; ++i) {
      std::vector<double> r(static_cast<size_t>(n));
      double mean = 0, var = 0;
      for (int64_t j = 0; j < n; ++j) {
        const auto k = static_cast<size_t>(i * n + j);
        r[static_cast<size_t>(j)] = static_cast<double>(x0[k]) + h[k] + (hbias ? hbias[j] : 0.0f);
        mean += r[static_cast<size_t>(j)] / n;
      }
      for (double v : r) var += (v - mean) * (v - mean) / n;
      for (int64_t j = 0; j < n; ++j) {
        const double want = (r[static_cast<size_t>(j)] - mean) / std::sqrt(var + 1e-5) * g[static_cast<size_t>(j)] +
                            b[static_cast<size_t>(j)];
        EXPECT_NEAR(x[static_cast<size_t>(i * n + j)], want, 1e-5) << i << "," << j;
      }
    }
  }
}

TEST(BertKernels, BiasActRowsMatchesNaive) {
  const int64_t m = 3, n = 21;
  const std::vector<float> y0 = ramp(m * n, 4.0f), bias = ramp(n, 1.0f, 0.9f);
  std::vector<float> plain = y0, gelu = y0, nobias = y0;
  models::bias_act_rows(plain.data(), bias.data(), m, n, false, false);
  models::bias_act_rows(gelu.data(), bias.data(), m, n, true, false);
  models::bias_act_rows(nobias.data(), nullptr, m, n, true, false);
  for (int64_t i = 0; i < m * n; ++i) {
    const auto k = static_cast<size_t>(i);
    const double z = static_cast<double>(y0[k]) + bias[static_cast<size_t>(i % n)];
    EXPECT_NEAR(plain[k], z, 1e-6);
    EXPECT_NEAR(gelu[k], gelu_ref(z), 1e-5);
    EXPECT_NEAR(nobias[k], gelu_ref(y0[k]), 1e-5);
  }
}

TEST(MiniLM, Bf16OptInStaysWithinCosine0999OfReference) {
  FORGE_REQUIRE_MODELS();
  FORGE_REQUIRE_BF16();
  auto model = models::load_bert(test::minilm_dir());
  EXPECT_FALSE(model->bf16());  // f32 is the default
  model->set_bf16(true);
  const auto ref = test::llm_ref("minilm_refs.json");
  std::vector<std::vector<int32_t>> ids;
  for (const auto& s : ref["sentences"]) ids.push_back(s["ids"].get<std::vector<int32_t>>());
  const auto got = model->embed_ids(ids);
  ASSERT_EQ(got.size(), ids.size());
  size_t i = 0;
  double worst = 1.0;
  for (const auto& s : ref["sentences"]) {
    const double c = test::cosine(got[i++], s["embedding"].get<std::vector<float>>());
    EXPECT_GE(c, 0.999) << s["text"];
    worst = std::min(worst, c);
  }
  EXPECT_LT(worst, 0.999999) << "bf16 GEMMs are expected to round (is the opt-in wired?)";
}

}  // namespace
}  // namespace forge
