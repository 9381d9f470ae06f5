#include <filesystem>

#include "autograd/grad_mode.h"
#include "llm/generate.h"
#include "models/gpt.h"
#include "test_util.h"
#include "text/char_tokenizer.h"

namespace forge::models {
namespace {

GptConfig tiny(bool tie = false) {
  return {.vocab_size = 11, .context = 16, .n_layer = 2, .n_head = 2, .d_model = 8, .tie_weights = tie};
}

Tensor ids_tensor(const std::vector<int32_t>& ids) {
  return from_vector<int64_t>(std::vector<int64_t>(ids.begin(), ids.end()), {1, static_cast<int64_t>(ids.size())});
}

TEST(Gpt, ParameterNamesFollowThePyTorchReference) {
  Gpt m(tiny());
  std::vector<std::string> names;
  for (const auto& nt : m.named_parameters()) names.push_back(nt.name);
  EXPECT_EQ(names.front(), "tok.weight");
  EXPECT_EQ(names[1], "pos.weight");
  EXPECT_EQ(names[2], "blocks.0.ln1.weight");
  EXPECT_EQ(names.back(), "head.weight");
  EXPECT_EQ(m.num_parameters(), 11 * 8 + 16 * 8 + 2 * (4 * 8 + 8 * 24 + 24 + 64 + 8 + 8 * 32 + 32 + 32 * 8 + 8) + 16 +
                                    11 * 8);
  Gpt tied(tiny(true));
  EXPECT_EQ(tied.num_parameters(), m.num_parameters() - 11 * 8);
}

TEST(Gpt, KvCacheLogitsEqualFullForward) {
  for (bool tie : {false, true}) {
    auto m = std::make_shared<Gpt>(tiny(tie), 3);
    m->eval();
    const std::vector<int32_t> ids{1, 5, 2, 9, 0, 3, 7, 7, 4, 10};
    Tensor full;
    {
      NoGradGuard g;
      full = m->forward(ids_tensor(ids)).reshape({10, 11});
    }
    GptLM lm(m, nullptr);
    // prefill 4 at once (all rows), then one token at a time
    auto cache = lm.new_cache(16);
    Tensor pre = lm.forward({ids.begin(), ids.begin() + 4}, *cache, /*last_only=*/false);
    EXPECT_TRUE(test::all_close(pre, full.slice(0, 0, 4), 1e-4, 1e-5));
    for (size_t t = 4; t < ids.size(); ++t) {
      Tensor row = lm.forward({ids[t]}, *cache);
      EXPECT_TRUE(test::all_close(row, full.slice(0, static_cast<int64_t>(t), static_cast<int64_t>(t) + 1), 1e-4,
                                  1e-5))
          << "position " << t;
    }
    EXPECT_EQ(cache->size(), 10);
    // reuse after truncate gives the same logits again
    cache->truncate(3);
    Tensor again = lm.forward({ids[3]}, *cache);
    EXPECT_TRUE(test::all_close(again, full.slice(0, 3, 4), 1e-4, 1e-5));
  }
}

TEST(Gpt, GradientsMatchFiniteDifferences) {
  for (bool tie : {false, true}) {
    Gpt m({.vocab_size = 5, .context = 4, .n_layer = 1, .n_head = 2, .d_model = 4, .tie_weights = tie}, 1);
    // larger weights than the 0.02 init so that every path contributes measurably
    Generator gen(9);
    for (const auto& p : m.parameters()) {
      NoGradGuard g;
      Tensor r = randn(p.shape(), 0.0, 0.5, &gen);
      copy_(p, r);
    }
    Tensor ids = from_vector<int64_t>({1, 4, 0, 2, 3, 3}, {2, 3});
    EXPECT_TRUE(test::grad_ok([&](const Tensors&) { return m.forward(ids); }, m.parameters()));
  }
}

TEST(Gpt, Errors) {
  EXPECT_THROW_MSG(Gpt({.vocab_size = 5, .n_head = 3, .d_model = 8}), "d_model 8 must be > 0 and divisible by n_head 3");
  EXPECT_THROW_MSG(Gpt({.vocab_size = 0}), "vocab_size must be > 0");
  EXPECT_THROW_MSG(Gpt({.vocab_size = 5, .dropout = 1.0}), "dropout must be in [0, 1)");
  auto m = std::make_shared<Gpt>(tiny());
  EXPECT_THROW_MSG(m->forward(from_vector<int64_t>({1, 2}, {2})), "ids must be 2-d");
  EXPECT_THROW_MSG(m->forward(zeros({1, 17}, DType::kI64)), "sequence length 17 must be in [1, context 16]");
  GptLM lm(m, nullptr);
  EXPECT_THROW_MSG(lm.new_cache(17), "cache capacity 17 must be in [1, context 16]");
  auto cache = lm.new_cache(3);
  EXPECT_THROW_MSG(lm.forward({1, 2, 3, 4}, *cache), "4 new tokens after 0 cached exceed the cache capacity 3");
  EXPECT_THROW_MSG(lm.forward({11}, *cache), "token id 11 is out of range for vocabulary size 11");
}

TEST(Gpt, SaveLoadDirAndGenerate) {
  auto tok = text::CharTokenizer::fit("hello world");
  GptConfig c = tiny();
  c.vocab_size = tok->vocab_size();
  auto m = std::make_shared<Gpt>(c, 5);
  const auto dir = (std::filesystem::temp_directory_path() / "forge_gpt_dir_test").string();
  save_gpt_dir(dir, *m, *tok);
  EXPECT_TRUE(is_gpt_dir(dir));
  auto lm = load_gpt_dir(dir);
  GptLM orig(m, tok);
  llm::GenerateOptions o;
  o.max_tokens = 10;
  o.sampling.temperature = 0.0f;
  auto a = llm::generate(orig, tok->encode("he"), o);
  auto b = llm::generate(*lm, tok->encode("he"), o);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.text.size(), 10u);
  std::filesystem::remove_all(dir);
  EXPECT_FALSE(is_gpt_dir(dir));
}

}  // namespace
}  // namespace forge::models
