// GPT-2 from a Hugging Face directory (tiny random checkpoint made by tools/llm/gen_llm_refs.py
// --tiny-gpt2) against its PyTorch forward.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "llm_test_util.h"
#include "models/gpt2.h"
#include "models/pretrained.h"
#include "test_util.h"

namespace forge {
namespace {

std::string tiny_dir() { return std::string(FORGE_TEST_DATA_DIR) + "/llm/data/tiny_gpt2"; }

TEST(Gpt2, LogitsMatchPyTorch) {
  auto model = models::load_pretrained_lm(tiny_dir());
  EXPECT_EQ(model->context_length(), 32);
  const auto ref = test::llm_ref("tiny_gpt2_refs.json");
  const auto ids = ref["ids"].get<std::vector<int32_t>>();
  ASSERT_NE(model->tokenizer(), nullptr);
  EXPECT_EQ(model->tokenizer()->encode("hello world, the quick brown fox"), ids);
  const auto want = ref["logits"].get<std::vector<std::vector<float>>>();
  auto cache = model->new_cache(32);
  Tensor full = model->forward(ids, *cache, /*last_only=*/false);
  ASSERT_EQ(full.size(0), static_cast<int64_t>(ids.size()));
  const float* l = full.data<float>();
  float worst = 0.0f;
  for (size_t t = 0; t < want.size(); ++t) {
    for (size_t v = 0; v < want[t].size(); ++v) worst = std::max(worst, std::abs(l[t * want[t].size() + v] - want[t][v]));
  }
  EXPECT_LT(worst, 1e-4f);  // f32 throughout; only summation order differs
  // decode with the cache reproduces the last row
  auto c2 = model->new_cache(32);
  std::vector<int32_t> head(ids.begin(), ids.end() - 1);
  model->forward(head, *c2);
  Tensor last = model->forward({ids.back()}, *c2);
  const float* lr = last.data<float>();
  worst = 0.0f;
  for (size_t v = 0; v < want.back().size(); ++v) worst = std::max(worst, std::abs(lr[v] - want.back()[v]));
  EXPECT_LT(worst, 1e-4f);
}

TEST(Gpt2, Errors) {
  auto model = models::load_pretrained_lm(tiny_dir());
  auto cache = model->new_cache(4);
  EXPECT_THROW_MSG(model->forward({1, 2, 3, 4, 5}, *cache), "exceed the cache capacity 4");
  EXPECT_THROW_MSG(model->new_cache(33), "context length");
  EXPECT_THROW_MSG(models::load_pretrained_lm("/nonexistent/gpt2"), "does not exist");
  FORGE_REQUIRE_MODELS();
  EXPECT_THROW_MSG(models::load_pretrained_lm(test::minilm_dir()), "model_type 'bert' is not a supported causal LM");
  EXPECT_THROW_MSG(models::load_pretrained_lm(test::minilm_dir() + "/vocab.txt"), "is not a GGUF file");
}

}  // namespace
}  // namespace forge

namespace forge {
namespace {

// A tiny random Llama in Hugging Face layout: rotate-half RoPE with linear scaling, GQA, untied
// lm_head; logits against the PyTorch forward of tools/llm/gen_llm_refs.py --tiny-gpt2.
TEST(LlamaHf, LogitsMatchPyTorch) {
  const std::string dir = std::string(FORGE_TEST_DATA_DIR) + "/llm/data/tiny_llama";
  auto model = models::load_pretrained_lm(dir);
  const auto ref = test::llm_ref("tiny_llama_refs.json");
  const auto ids = ref["ids"].get<std::vector<int32_t>>();
  const auto want = ref["logits"].get<std::vector<std::vector<float>>>();
  auto cache = model->new_cache(16);
  Tensor full = model->forward(ids, *cache, false);
  const float* l = full.data<float>();
  const size_t V = want[0].size();
  ASSERT_EQ(full.size(1), static_cast<int64_t>(V));
  float worst = 0.0f;
  for (size_t t = 0; t < want.size(); ++t) {
    for (size_t v = 0; v < V; ++v) worst = std::max(worst, std::abs(l[t * V + v] - want[t][v]));
  }
  EXPECT_LT(worst, 1e-4f);  // f32 weights: only summation order differs
}

TEST(LlamaHf, MismatchedTokenizerIsAnError) {
  const std::string dir = ::testing::TempDir() + "/llama_small_vocab";
  std::filesystem::create_directories(dir);
  const std::string src = std::string(FORGE_TEST_DATA_DIR) + "/llm/data/tiny_llama";
  for (const char* f : {"model.safetensors", "config.json"}) {
    std::filesystem::copy_file(src + "/" + f, dir + "/" + f, std::filesystem::copy_options::overwrite_existing);
  }
  // a tokenizer.json with 1000+ tokens for a 320-row embedding
  auto j = test::llm_ref("../data/tiny_llama/tokenizer.json");
  for (int i = 0; i < 1000; ++i) j["model"]["vocab"]["extra_token_" + std::to_string(i)] = 400 + i;
  std::ofstream(dir + "/tokenizer.json") << j.dump();
  EXPECT_THROW_MSG(models::load_pretrained_lm(dir), "mismatched tokenizer and model");
}

}  // namespace
}  // namespace forge
