// GPT-2 from a Hugging Face directory (tiny random checkpoint made by tools/llm/gen_llm_refs.py
// --tiny-gpt2) against its PyTorch forward.
#include <gtest/gtest.h>

#include <cmath>

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
