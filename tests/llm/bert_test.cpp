// all-MiniLM-L6-v2 sentence embeddings against the PyTorch reference (tools/llm/gen_llm_refs.py).
#include "models/bert.h"

#include <gtest/gtest.h>

#include <cmath>

#include "llm_test_util.h"
#include "test_util.h"

namespace forge {
namespace {

TEST(MiniLM, EmbeddingsMatchReference) {
  FORGE_REQUIRE_MODELS();
  auto model = models::load_bert(test::minilm_dir());
  EXPECT_EQ(model->dim(), 384);
  EXPECT_EQ(model->max_tokens(), 512);
  EXPECT_EQ(model->config().pooling, "mean");
  EXPECT_TRUE(model->config().normalize);
  const auto ref = test::llm_ref("minilm_refs.json");
  std::vector<std::vector<int32_t>> ids;
  for (const auto& s : ref["sentences"]) ids.push_back(s["ids"].get<std::vector<int32_t>>());
  const auto got = model->embed_ids(ids);  // one batch of different lengths
  ASSERT_EQ(got.size(), ids.size());
  size_t i = 0;
  for (const auto& s : ref["sentences"]) {
    const auto want = s["embedding"].get<std::vector<float>>();
    ASSERT_EQ(got[i].size(), want.size());
    EXPECT_GE(test::cosine(got[i], want), 0.999) << s["text"];
    float worst = 0.0f;
    for (size_t k = 0; k < want.size(); ++k) worst = std::max(worst, std::abs(got[i][k] - want[k]));
    EXPECT_LT(worst, 1e-4f) << s["text"];  // f32 vs f32: only summation order differs
    ++i;
  }
  // from text, through the checkpoint's tokenizer.json
  std::vector<std::string> texts;
  for (const auto& s : ref["sentences"]) texts.push_back(s["text"]);
  const auto from_text = model->embed(texts);
  for (size_t k = 0; k < texts.size(); ++k) EXPECT_GE(test::cosine(from_text[k], got[k]), 0.99999) << texts[k];
  // a single sentence alone gives the same vector as inside the batch
  const auto one = model->embed_ids({ids[2]});
  EXPECT_GE(test::cosine(one[0], got[2]), 0.99999);
}

TEST(MiniLM, Errors) {
  FORGE_REQUIRE_MODELS();
  auto model = models::load_bert(test::minilm_dir());
  EXPECT_THROW_MSG(model->embed_ids({{101, 102}, std::vector<int32_t>(513, 100)}), "text 1 has 513 tokens");
  EXPECT_THROW_MSG(model->embed_ids({{101, 40000}}), "token id 40000 out of range");
  EXPECT_THROW_MSG(models::load_bert("/nonexistent/minilm"), "/nonexistent/minilm");
}

}  // namespace
}  // namespace forge
