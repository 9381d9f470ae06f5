// The fused decode (models/llama_decode.cpp) against the per-op path of LlamaModel: logits and KV
// cache contents must be bit-identical at 1-4 threads, for single and batched sequences, on
// SmolLM2-135M Q4_1 and on tiny random Q8_0/Q4_0/Q4_1 models (partial 16-row groups, threads
// with no rows); steps the fused path does not take must say so and still run.
#include <gtest/gtest.h>

#include <cstring>
#include <map>

#include "core/parallel.h"
#include "core/random.h"
#include "llm_test_util.h"
#include "models/llama.h"
#include "models/llama_cache.h"
#include "ops/quant.h"

namespace forge {
namespace {

using Steps = std::vector<std::vector<std::vector<int32_t>>>;  // step -> sequence -> new tokens

struct Result {
  std::vector<float> logits;  // every step's logits, concatenated
  std::vector<std::unique_ptr<llm::KvCache>> caches;
  std::vector<bool> fused;  // per step: did the model take the fused path
};

// Runs `steps` on fresh caches (one per sequence) with the fused decode on or off.
Result run(models::LlamaModel& model, bool fused, const Steps& steps, bool all_rows) {
  model.set_fused_decode(fused);
  Result res;
  for (size_t s = 0; s < steps.front().size(); ++s) res.caches.push_back(model.new_cache(64));
  for (const auto& step : steps) {
    std::vector<llm::SeqChunk> chunks;
    int64_t rows = 0;
    for (size_t s = 0; s < step.size(); ++s) {
      if (step[s].empty()) continue;
      chunks.push_back({&step[s], res.caches[s].get()});
      rows += all_rows ? static_cast<int64_t>(step[s].size()) : 1;
    }
    std::vector<float> logits(static_cast<size_t>(rows * model.vocab_size()));
    model.forward_into(chunks, all_rows, logits.data());
    res.logits.insert(res.logits.end(), logits.begin(), logits.end());
    res.fused.push_back(model.last_forward_fused());
  }
  model.set_fused_decode(true);
  return res;
}

// Bit-identical logits and caches; the fused run took the fused path at every step.
void expect_identical(models::LlamaModel& model, const Steps& steps, bool all_rows, const std::string& what) {
  const Result ref = run(model, false, steps, all_rows);
  const Result got = run(model, true, steps, all_rows);
  for (size_t i = 0; i < steps.size(); ++i) {
    EXPECT_FALSE(ref.fused[i]) << what << " step " << i;
    EXPECT_TRUE(got.fused[i]) << what << " step " << i;
  }
  ASSERT_EQ(ref.logits.size(), got.logits.size());
  size_t differ = 0;
  for (size_t i = 0; i < ref.logits.size(); ++i) differ += std::memcmp(&ref.logits[i], &got.logits[i], 4) != 0;
  EXPECT_EQ(differ, 0u) << what << ": " << differ << " of " << ref.logits.size() << " logits differ";
  for (size_t s = 0; s < ref.caches.size(); ++s) {
    const auto& a = static_cast<const models::detail::LlamaCache&>(*ref.caches[s]);
    const auto& b = static_cast<const models::detail::LlamaCache&>(*got.caches[s]);
    EXPECT_EQ(a.size(), b.size()) << what;
    EXPECT_TRUE(a.k_ == b.k_ && a.v_ == b.v_) << what << ": KV cache of sequence " << s << " differs";
  }
}

// A random Llama with every linear weight in `wtype` (f32 norms and embedding): 2 layers, 3
// query heads sharing one KV head of 32, d_ff 96, vocab 100 (the last 16-row group partial).
std::shared_ptr<models::LlamaModel> tiny_model(DType wtype) {
  models::LlamaConfig c;
  c.n_layer = 2;
  c.d_model = 64;
  c.n_head = 3;
  c.n_kv_head = 1;
  c.head_dim = 32;
  c.d_ff = 96;
  c.vocab = 100;
  c.context = 64;
  Generator gen(42);
  std::map<std::string, Tensor> weights;
  auto linear = [&](int64_t out, int64_t in) {
    Tensor w = randn({out, in}, 0.0, 0.2, &gen);
    return wtype == DType::kF32 ? w : quantize(w, wtype);
  };
  auto lookup = [&](const std::string& role, int64_t layer) -> Tensor {
    const std::string key = role + "." + std::to_string(layer);
    auto it = weights.find(key);
    if (it != weights.end()) return it->second;
    Tensor t;
    const int64_t qd = c.n_head * c.head_dim, kvd = c.n_kv_head * c.head_dim;
    if (role == "tok_embd") t = randn({c.vocab, c.d_model}, 0.0, 1.0, &gen);
    if (role == "output_norm" || role == "attn_norm" || role == "ffn_norm") t = rand({c.d_model}, 0.5, 1.5, &gen);
    if (role == "output") t = linear(c.vocab, c.d_model);
    if (role == "attn_q") t = linear(qd, c.d_model);
    if (role == "attn_k" || role == "attn_v") t = linear(kvd, c.d_model);
    if (role == "attn_output") t = linear(c.d_model, qd);
    if (role == "ffn_gate" || role == "ffn_up") t = linear(c.d_ff, c.d_model);
    if (role == "ffn_down") t = linear(c.d_model, c.d_ff);
    weights[key] = t;
    return t;
  };
  return std::make_shared<models::LlamaModel>(c, lookup, nullptr, std::nullopt);
}

// Prompts of 3, 2 and 3 tokens (one 8-row prefill step), then decode steps: one sequence alone,
// a step with a 2-token chunk, and all three together.
const Steps kBatched = {
    {{5, 17, 42}, {3, 1}, {9, 26, 53}}, {{12}, {}, {}}, {{7}, {31, 41}, {59}}, {{26}, {53}, {58}}, {{97}, {93}, {23}}};
const Steps kSingle = {{{5, 17, 42, 8, 99, 1}}, {{12}}, {{7}}, {{31}}, {{41}}, {{59}}, {{26}}};

class FusedDecode : public ::testing::Test {
 protected:
  void TearDown() override { set_num_threads(1); }
};

TEST_F(FusedDecode, TinyModelsMatchPerOpPath) {
  for (DType wtype : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1}) {
    auto model = tiny_model(wtype);
    ASSERT_TRUE(model->fused_decode_supported()) << dtype_name(wtype);
    for (int threads : {1, 2, 3, 4}) {
      set_num_threads(threads);
      const std::string what = std::string(dtype_name(wtype)) + ", " + std::to_string(threads) + " threads";
      expect_identical(*model, kSingle, false, what + ", single");
      expect_identical(*model, kBatched, false, what + ", batched");
      expect_identical(*model, kBatched, true, what + ", batched, all rows");
    }
  }
}

TEST_F(FusedDecode, SmolLM2MatchesPerOpPath) {
  FORGE_REQUIRE_MODELS();
  auto model = models::load_llama_gguf(test::smollm2_path());
  ASSERT_TRUE(model->fused_decode_supported());
  for (int threads : {1, 2, 3, 4}) {
    set_num_threads(threads);
    expect_identical(*model, kSingle, false, std::to_string(threads) + " threads, single");
  }
  set_num_threads(2);
  expect_identical(*model, kBatched, false, "2 threads, batched");
}

TEST_F(FusedDecode, FallsBackToPerOpPath) {
  auto model = tiny_model(DType::kQ8_0);
  set_num_threads(2);
  auto cache = model->new_cache(64);
  std::vector<float> logits(static_cast<size_t>(2 * model->vocab_size()));
  auto step = [&](const std::vector<int32_t>& tokens, bool all_rows = false) {
    const std::vector<llm::SeqChunk> chunks{{&tokens, cache.get()}};
    if (all_rows) logits.resize(tokens.size() * static_cast<size_t>(model->vocab_size()));
    model->forward_into(chunks, all_rows, logits.data());
    return model->last_forward_fused();
  };
  EXPECT_FALSE(step({1, 2, 3, 4, 5, 6, 7, 8, 9}));  // 9 rows > kFusedDecodeMaxRows
  EXPECT_TRUE(step({10, 11, 12, 13, 14, 15, 16, 17}));
  model->set_gemm_attention_rows(1);  // the per-op path would attend with GEMMs
  EXPECT_FALSE(step({18}));
  model->set_gemm_attention_rows(16);
  model->set_fused_decode(false);
  EXPECT_FALSE(step({19}));
  model->set_fused_decode(true);
  EXPECT_TRUE(step({20}));
  EXPECT_EQ(cache->size(), 20);
  // Errors are still reported before either path runs.
  EXPECT_THROW(step({100}), Error);

  // f32 weights have no fused kernel: the model says so and decodes the per-op way.
  auto f32 = tiny_model(DType::kF32);
  EXPECT_FALSE(f32->fused_decode_supported());
  auto c2 = f32->new_cache(8);
  const std::vector<int32_t> tok = {3};
  f32->forward_into({{&tok, c2.get()}}, false, logits.data());
  EXPECT_FALSE(f32->last_forward_fused());
}

}  // namespace
}  // namespace forge
