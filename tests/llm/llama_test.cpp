// SmolLM2-135M-Instruct (Q4_1 GGUF) against the PyTorch reference of tools/llm/gen_llm_refs.py.
#include "models/llama.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "llm/generate.h"
#include "llm_test_util.h"
#include "test_util.h"

namespace forge {
namespace {

// Tolerances. The reference dequantizes every weight (gguf package) and runs the whole forward
// in f32.
// * Forge with dequantize_weights (f32 weights, f32 activations, oneDNN sgemm) computes the same
//   function: measured max |dlogit| 1e-4 (summation order only), so 2e-3 is asserted and the 32
//   greedy tokens must be identical.
// * Forge's default path keeps the weights in Q4_1/Q8_0 and its integer kernels also quantize
//   every activation row to 8 bits per block of 32 (Q8 activations, as llama.cpp does): a
//   relative error of up to 2^-8 per activation, amplified through 30 layers by SmolLM2's large
//   activation outliers. Measured on the 5 prompts: RMS |dlogit| over full rows 0.17-0.24, max
//   over the reference top-50 0.32-1.38, on logits spanning ~[-20, 32]. Asserted: RMS < 0.35,
//   top-50 max < 2.0. Greedy decoding amplifies this (one flipped token changes the rest), so the
//   quantized path is checked teacher-forced: at each of the 32 reference steps whose top-1/top-2
//   margin exceeds kMarginTol, Forge's argmax must be the reference token.
constexpr float kExactTol = 2e-3f;
constexpr float kRmsTol = 0.35f;
constexpr float kTop50Tol = 2.0f;
constexpr float kMarginTol = 1.0f;
constexpr float kLogitTol = kTop50Tol;

class SmolLM2 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::have_models()) return;
    model_ = models::load_llama_gguf(test::smollm2_path());
    exact_ = models::load_llama_gguf(test::smollm2_path(), /*dequantize_weights=*/true);
  }
  static void TearDownTestSuite() {
    model_.reset();
    exact_.reset();
  }
  void SetUp() override { FORGE_REQUIRE_MODELS(); }
  static std::shared_ptr<models::LlamaModel> model_, exact_;
};
std::shared_ptr<models::LlamaModel> SmolLM2::model_, SmolLM2::exact_;

std::vector<int32_t> ids_of(const nlohmann::json& j) { return j.get<std::vector<int32_t>>(); }

TEST_F(SmolLM2, ConfigFromGguf) {
  const auto& c = model_->config();
  EXPECT_EQ(c.n_layer, 30);
  EXPECT_EQ(c.d_model, 576);
  EXPECT_EQ(c.n_head, 9);
  EXPECT_EQ(c.n_kv_head, 3);
  EXPECT_EQ(c.head_dim, 64);
  EXPECT_EQ(c.vocab, 49152);
  EXPECT_FLOAT_EQ(c.rope_theta, 100000.0f);
  EXPECT_EQ(model_->context_length(), 8192);
  ASSERT_TRUE(model_->chat_template().has_value());
  EXPECT_NE(model_->chat_template()->find("<|im_start|>"), std::string::npos);
}

// Max |dlogit| over the reference's top-50 ids, and RMS over the full row when recorded.
std::pair<float, double> logit_errors(const float* l, const nlohmann::json& p) {
  const auto top_ids = p["top_ids"].get<std::vector<int64_t>>();
  const auto top_vals = p["top_values"].get<std::vector<float>>();
  float top = 0.0f;
  for (size_t i = 0; i < top_ids.size(); ++i) top = std::max(top, std::abs(l[top_ids[i]] - top_vals[i]));
  double rms = 0.0;
  if (p.contains("full_logits")) {
    const auto full = p["full_logits"].get<std::vector<float>>();
    for (size_t i = 0; i < full.size(); ++i) rms += (l[i] - full[i]) * (l[i] - full[i]);
    rms = std::sqrt(rms / static_cast<double>(full.size()));
  }
  return {top, rms};
}

TEST_F(SmolLM2, LogitsMatchReferenceExactly) {
  const auto ref = test::llm_ref("smollm2_refs.json");
  for (const auto& p : ref["prompts"]) {
    auto cache = exact_->new_cache(256);
    Tensor logits = exact_->forward(ids_of(p["ids"]), *cache);
    ASSERT_EQ(logits.shape(), (Shape{1, 49152}));
    const float* l = logits.data<float>();
    EXPECT_LT(logit_errors(l, p).first, kExactTol) << p["text"];
    if (p.contains("full_logits")) {
      const auto full = p["full_logits"].get<std::vector<float>>();
      float fw = 0.0f;
      for (size_t i = 0; i < full.size(); ++i) fw = std::max(fw, std::abs(l[i] - full[i]));
      EXPECT_LT(fw, kExactTol) << "full row, prompt: " << p["text"];
    }
  }
}

TEST_F(SmolLM2, LogitsMatchReferenceQuantized) {
  const auto ref = test::llm_ref("smollm2_refs.json");
  for (const auto& p : ref["prompts"]) {
    auto cache = model_->new_cache(256);
    Tensor logits = model_->forward(ids_of(p["ids"]), *cache);
    const auto [top, rms] = logit_errors(logits.data<float>(), p);
    EXPECT_LT(top, kTop50Tol) << p["text"];
    EXPECT_LT(rms, kRmsTol) << p["text"];
  }
}

// Free-running greedy decoding of all prompts at once (forward_batch: one pass over the weights
// per step for the 5 sequences).
TEST_F(SmolLM2, Greedy32MatchesReferenceExactly) {
  const auto ref = test::llm_ref("smollm2_refs.json");
  const size_t n = ref["prompts"].size();
  std::vector<std::unique_ptr<llm::KvCache>> caches;
  std::vector<std::vector<int32_t>> feed(n), got(n);
  for (const auto& p : ref["prompts"]) {
    caches.push_back(exact_->new_cache(256));
    feed[caches.size() - 1] = ids_of(p["ids"]);
  }
  for (size_t step = 0; step <= 32; ++step) {
    std::vector<llm::SeqChunk> chunks;
    for (size_t i = 0; i < n; ++i) chunks.push_back({&feed[i], caches[i].get()});
    Tensor logits = exact_->forward_batch(chunks);
    if (step == 32) break;
    for (size_t i = 0; i < n; ++i) {
      const float* l = logits.data<float>() + i * 49152;
      const auto next = static_cast<int32_t>(std::max_element(l, l + 49152) - l);
      got[i].push_back(next);
      feed[i] = {next};
    }
  }
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(got[i], ids_of(ref["prompts"][i]["greedy"])) << ref["prompts"][i]["text"];
}

TEST_F(SmolLM2, Greedy32TeacherForcedQuantized) {
  const auto ref = test::llm_ref("smollm2_refs.json");
  int compared = 0;
  for (const auto& p : ref["prompts"]) {
    const auto want = ids_of(p["greedy"]);
    const auto margins = p["greedy_margins"].get<std::vector<float>>();
    auto cache = model_->new_cache(256);
    Tensor logits = model_->forward(ids_of(p["ids"]), *cache);
    for (size_t step = 0; step < want.size(); ++step) {
      const float* l = logits.data<float>();
      const auto next = static_cast<int32_t>(std::max_element(l, l + 49152) - l);
      if (margins[step] > kMarginTol) {
        EXPECT_EQ(next, want[step]) << "step " << step << " (reference margin " << margins[step] << "), prompt "
                                    << p["text"];
        ++compared;
      }
      logits = model_->forward({want[step]}, *cache);  // teacher forcing: continue on the reference
    }
  }
  EXPECT_GE(compared, 80);  // most of the 160 steps are decided by a clear margin
}

TEST_F(SmolLM2, KvCacheDecodeEqualsFullForward) {
  const std::vector<int32_t> ids = {504, 2365, 6354, 16438, 27003, 690, 260, 23790, 2767, 30};
  auto full_cache = model_->new_cache(32);
  Tensor full = model_->forward(ids, *full_cache, /*last_only=*/false);
  ASSERT_EQ(full.shape(), (Shape{10, 49152}));
  auto cache = model_->new_cache(32);
  // prefill 4, then one token at a time
  std::vector<int32_t> head(ids.begin(), ids.begin() + 4);
  Tensor part = model_->forward(head, *cache, false);
  for (int64_t t = 0; t < 10; ++t) {
    Tensor row;
    if (t < 4) {
      row = part.select(0, t);
    } else {
      row = model_->forward({ids[static_cast<size_t>(t)]}, *cache).select(0, 0);
    }
    const auto a = row.contiguous().to_vector<float>();
    const auto b = full.select(0, t).contiguous().to_vector<float>();
    float worst = 0.0f;
    for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    EXPECT_LT(worst, 1e-3f) << "position " << t;
  }
  EXPECT_EQ(cache->size(), 10);
  cache->truncate(4);
  EXPECT_EQ(cache->size(), 4);
}

// Long prefill chunks use GEMM attention, short ones and decode the online-softmax loop. Checked
// on the f32 (dequantized) model: with Q8 activations a last-bit difference in an attention output
// can flip the 8-bit rounding of an activation later on, so the quantized paths agree only within
// the quantization tolerance above.
TEST_F(SmolLM2, GemmPrefillAttentionEqualsDecode) {
  std::vector<int32_t> ids;
  for (int i = 0; i < 40; ++i) ids.push_back(100 + (i * 7919) % 40000);
  auto a = exact_->new_cache(64);
  std::vector<int32_t> first(ids.begin(), ids.begin() + 20), second(ids.begin() + 20, ids.end());
  const auto p1 = exact_->forward(first, *a, false).to_vector<float>();   // GEMM path, start 0
  const auto p2 = exact_->forward(second, *a, false).to_vector<float>();  // GEMM path, start 20
  auto b = exact_->new_cache(64);
  const size_t V = 49152;
  float worst = 0.0f;
  for (size_t t = 0; t < ids.size(); ++t) {
    const auto row = exact_->forward({ids[t]}, *b).to_vector<float>();
    const float* ref = t < 20 ? p1.data() + t * V : p2.data() + (t - 20) * V;
    for (size_t v = 0; v < V; ++v) worst = std::max(worst, std::abs(row[v] - ref[v]));
  }
  EXPECT_LT(worst, kExactTol);
}

TEST_F(SmolLM2, ForwardBatchEqualsSeparateSequences) {
  const std::vector<int32_t> a = {504, 2365, 6354}, b = {1, 4093, 198, 19556, 30, 2};
  auto ca = model_->new_cache(16), cb = model_->new_cache(16);
  Tensor batched = model_->forward_batch({{&a, ca.get()}, {&b, cb.get()}});
  ASSERT_EQ(batched.shape(), (Shape{2, 49152}));
  auto sa = model_->new_cache(16), sb = model_->new_cache(16);
  const auto ra = model_->forward(a, *sa).to_vector<float>();
  const auto rb = model_->forward(b, *sb).to_vector<float>();
  const auto all = batched.to_vector<float>();
  float worst = 0.0f;
  for (size_t i = 0; i < ra.size(); ++i) {
    worst = std::max(worst, std::abs(all[i] - ra[i]));
    worst = std::max(worst, std::abs(all[ra.size() + i] - rb[i]));
  }
  EXPECT_LT(worst, 1e-3f);
  // and decode one step for both sequences at once
  const std::vector<int32_t> na = {11}, nb = {28};
  Tensor step = model_->forward_batch({{&na, ca.get()}, {&nb, cb.get()}});
  const auto sa2 = model_->forward(na, *sa).to_vector<float>();
  const auto st = step.to_vector<float>();
  worst = 0.0f;
  for (size_t i = 0; i < sa2.size(); ++i) worst = std::max(worst, std::abs(st[i] - sa2[i]));
  EXPECT_LT(worst, 1e-3f);
}

TEST_F(SmolLM2, Errors) {
  auto cache = model_->new_cache(4);
  EXPECT_THROW_MSG(model_->forward({1, 2, 3, 4, 5}, *cache), "exceed the cache capacity 4");
  EXPECT_THROW_MSG(model_->forward({49152}, *cache), "token id 49152 out of range");
  EXPECT_THROW_MSG(model_->forward({}, *cache), "has no new tokens");
  EXPECT_THROW_MSG(model_->new_cache(100000), "context length");
  auto c2 = model_->new_cache(4);
  const std::vector<int32_t> t = {1};
  EXPECT_THROW_MSG(model_->forward_batch({{&t, c2.get()}, {&t, c2.get()}}), "share one KV cache");
}

TEST(LlamaLoad, Errors) {
  EXPECT_THROW_MSG(models::load_llama_gguf("/nonexistent/model.gguf"), "/nonexistent/model.gguf");
  EXPECT_THROW_MSG(models::load_llama_hf("/nonexistent/dir"), "/nonexistent/dir");
  FORGE_REQUIRE_MODELS();
  // a BERT directory is not a Llama checkpoint
  EXPECT_THROW_MSG(models::load_llama_hf(test::minilm_dir()), "model_type 'bert' is not a Llama-family model");
}

}  // namespace
}  // namespace forge
