// GptLM::forward_batch (continuous batching): one step over several sequences must give the
// same logits as running each sequence alone, whatever mix of prefill chunks and decode tokens.
#include "models/gpt.h"
#include "test_util.h"

namespace forge::models {
namespace {

GptConfig tiny_batch_config() { return {.vocab_size = 13, .context = 32, .n_layer = 2, .n_head = 2, .d_model = 16}; }

TEST(GptBatch, BatchedLogitsEqualPerSequenceLogits) {
  auto m = std::make_shared<Gpt>(tiny_batch_config(), 5);
  m->eval();
  GptLM alone(m, nullptr), batched(m, nullptr);
  // Three sequences with different prompt lengths (one longer than the GEMV threshold).
  const std::vector<std::vector<int32_t>> prompts{{1, 2, 3}, {4}, {5, 6, 7, 8, 9, 10, 11}};
  std::vector<std::unique_ptr<llm::KvCache>> ca, cb;
  for (size_t i = 0; i < prompts.size(); ++i) {
    ca.push_back(alone.new_cache(32));
    cb.push_back(batched.new_cache(32));
  }
  std::vector<llm::SeqChunk> step;
  for (size_t i = 0; i < prompts.size(); ++i) step.push_back({&prompts[i], cb[i].get()});
  Tensor b = batched.forward_batch(step);
  ASSERT_EQ(b.shape(), (Shape{3, 13}));
  for (size_t i = 0; i < prompts.size(); ++i) {
    Tensor a = alone.forward(prompts[i], *ca[i]);
    EXPECT_TRUE(test::all_close(b.slice(0, static_cast<int64_t>(i), static_cast<int64_t>(i) + 1), a, 1e-4, 1e-5))
        << "prefill of sequence " << i;
    EXPECT_EQ(cb[i]->size(), static_cast<int64_t>(prompts[i].size()));
  }
  // Decode steps: one token each, and a mixed step where a new chunk joins mid-way.
  for (int s = 0; s < 4; ++s) {
    std::vector<std::vector<int32_t>> toks{{(s * 3 + 1) % 13}, {(s * 5 + 2) % 13}, {(s + 7) % 13}};
    if (s == 2) toks[1] = {3, 4, 5, 6, 7, 8};  // a longer chunk in the same step
    std::vector<llm::SeqChunk> chunks;
    for (size_t i = 0; i < toks.size(); ++i) chunks.push_back({&toks[i], cb[i].get()});
    Tensor bl = batched.forward_batch(chunks);
    for (size_t i = 0; i < toks.size(); ++i) {
      Tensor a = alone.forward(toks[i], *ca[i]);
      EXPECT_TRUE(test::all_close(bl.slice(0, static_cast<int64_t>(i), static_cast<int64_t>(i) + 1), a, 1e-4, 1e-5))
          << "step " << s << " sequence " << i;
      EXPECT_EQ(cb[i]->size(), ca[i]->size());
    }
  }
}

TEST(GptBatch, SingleSequenceAllRowsMatchesFullForward) {
  auto m = std::make_shared<Gpt>(tiny_batch_config(), 2);
  m->eval();
  GptLM lm(m, nullptr);
  const std::vector<int32_t> ids{3, 1, 4, 1, 5, 9, 2, 6};
  auto c1 = lm.new_cache(16);
  Tensor all = lm.forward(ids, *c1, /*last_only=*/false);
  auto c2 = lm.new_cache(16);
  Tensor last = lm.forward_batch({{&ids, c2.get()}});
  EXPECT_TRUE(test::all_close(last, all.slice(0, 7, 8), 1e-5, 1e-6));
}

// Decoding splits each weight matrix's rows over the threads: the logits must not change.
TEST(GptBatch, DecodeWithTwoThreadsEqualsOneThread) {
  auto m =
      std::make_shared<Gpt>(GptConfig{.vocab_size = 13, .context = 32, .n_layer = 1, .n_head = 4, .d_model = 256}, 3);
  m->eval();
  GptLM lm(m, nullptr);
  const std::vector<int32_t> prompt{1, 2, 3, 4};
  auto decode = [&](int threads) {
    set_num_threads(threads);
    auto cache = lm.new_cache(32);
    std::vector<Tensor> out{lm.forward(prompt, *cache)};
    for (int32_t t : {5, 6, 7}) out.push_back(lm.forward({t}, *cache));
    set_num_threads(1);
    return out;
  };
  const std::vector<Tensor> one = decode(1), two = decode(2);
  for (size_t i = 0; i < one.size(); ++i) EXPECT_TRUE(test::all_close(two[i], one[i], 1e-6, 1e-7)) << "step " << i;
}

TEST(GptBatch, Errors) {
  auto m = std::make_shared<Gpt>(tiny_batch_config(), 1);
  GptLM lm(m, nullptr);
  auto c = lm.new_cache(4);
  const std::vector<int32_t> one{1}, five{1, 2, 3, 4, 5}, bad{13}, none;
  EXPECT_THROW_MSG(lm.forward_batch({}), "[gpt] forward_batch needs at least one sequence");
  EXPECT_THROW_MSG(lm.forward_batch({{&one, c.get()}, {&one, c.get()}}), "uses the same cache as an earlier sequence");
  EXPECT_THROW_MSG(lm.forward_batch({{&five, c.get()}}), "exceed the cache capacity 4");
  EXPECT_THROW_MSG(lm.forward_batch({{&bad, c.get()}}), "token id 13 is out of range for vocabulary size 13");
  EXPECT_THROW_MSG(lm.forward_batch({{&none, c.get()}}), "needs at least one token");
  EXPECT_THROW_MSG(lm.forward_batch({{&one, nullptr}}), "sequence 0 has no tokens or no cache");
  // A failed batch leaves every cache untouched.
  auto c2 = lm.new_cache(8);
  EXPECT_THROW_MSG(lm.forward_batch({{&one, c2.get()}, {&bad, c.get()}}), "out of range");
  EXPECT_EQ(c2->size(), 0);
}

}  // namespace
}  // namespace forge::models
