#include <map>

#include "llm/sampler.h"
#include "test_util.h"

namespace forge::llm {
namespace {

TEST(Sampler, GreedyPicksArgmaxAndFirstOnTies) {
  Sampler s({.temperature = 0.0f});
  std::vector<float> logits{0.1f, 3.0f, -1.0f, 3.0f};
  EXPECT_EQ(s.sample(logits.data(), 4, {}), 1);
}

std::map<int32_t, int> histogram(SamplingParams p, const std::vector<float>& logits, int n,
                                 const std::vector<int32_t>& history = {}) {
  Sampler s(p);
  std::map<int32_t, int> h;
  for (int i = 0; i < n; ++i) h[s.sample(logits.data(), static_cast<int64_t>(logits.size()), history)]++;
  return h;
}

TEST(Sampler, TopKKeepsOnlyTheKBest) {
  const std::vector<float> logits{1.0f, 4.0f, 3.0f, 2.0f, 0.0f};
  auto h = histogram({.temperature = 1.0f, .top_k = 2, .seed = 1}, logits, 2000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_GT(h[1], h[2]);
  EXPECT_GT(h[2], 0);
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  // probabilities ~ 0.64, 0.24, 0.09, 0.03: top_p 0.8 keeps the first two (0.64 < 0.8 <= 0.88).
  const std::vector<float> logits{std::log(0.64f), std::log(0.24f), std::log(0.09f), std::log(0.03f)};
  auto h = histogram({.temperature = 1.0f, .top_p = 0.8f, .seed = 2}, logits, 3000);
  EXPECT_EQ(h.size(), 2u);
  EXPECT_NEAR(h[0] / 3000.0, 0.64 / 0.88, 0.03);
  auto h2 = histogram({.temperature = 1.0f, .top_p = 0.5f, .seed = 2}, logits, 100);
  EXPECT_EQ(h2.size(), 1u);  // the first token alone reaches 0.5
}

TEST(Sampler, MinPDropsUnlikelyTokens) {
  const std::vector<float> logits{std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  // min_p 0.25 -> floor 0.125 keeps 0.5, 0.3, 0.15 and drops 0.05
  auto h = histogram({.temperature = 1.0f, .min_p = 0.25f, .seed = 3}, logits, 3000);
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.count(3), 0u);
}

TEST(Sampler, RepetitionPenaltyFollowsLlamaCppRule) {
  // logits 2.0 (penalized -> 1.0) vs 1.5: greedy flips to id 1. Negative logits are multiplied.
  Sampler s({.temperature = 0.0f, .repetition_penalty = 2.0f});
  std::vector<float> logits{2.0f, 1.5f};
  EXPECT_EQ(s.sample(logits.data(), 2, {0}), 1);
  EXPECT_EQ(s.sample(logits.data(), 2, {0, 0, 0}), 1);  // one id is penalized once, not per repeat
  std::vector<float> neg{-1.0f, -1.5f};
  EXPECT_EQ(s.sample(neg.data(), 2, {0}), 1);  // -1 * 2 = -2 < -1.5
  Sampler window({.temperature = 0.0f, .repetition_penalty = 2.0f, .repeat_last_n = 1});
  EXPECT_EQ(window.sample(logits.data(), 2, {0, 1}), 0);  // only the last id (1) counts
  EXPECT_EQ(logits[0], 2.0f);                             // the caller's logits are untouched
}

TEST(Sampler, SameSeedSameSequence) {
  std::vector<float> logits(50);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(i * 1.3));
  auto run = [&](uint64_t seed) {
    Sampler s({.temperature = 0.8f, .top_k = 20, .top_p = 0.9f, .seed = seed});
    std::vector<int32_t> out;
    for (int i = 0; i < 40; ++i) out.push_back(s.sample(logits.data(), 50, out));
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Sampler, LowTemperatureApproachesGreedy) {
  const std::vector<float> logits{1.0f, 1.2f, 0.5f};
  auto h = histogram({.temperature = 0.01f, .seed = 4}, logits, 200);
  EXPECT_EQ(h[1], 200);
}

TEST(Sampler, ValidatesParameters) {
  EXPECT_THROW_MSG(Sampler({.temperature = -1.0f}), "temperature must be finite and >= 0");
  EXPECT_THROW_MSG(Sampler({.top_k = -2}), "top_k must be >= 0");
  EXPECT_THROW_MSG(Sampler({.top_p = 0.0f}), "top_p must be in (0, 1]");
  EXPECT_THROW_MSG(Sampler({.top_p = 1.5f}), "top_p must be in (0, 1]");
  EXPECT_THROW_MSG(Sampler({.min_p = 2.0f}), "min_p must be in [0, 1]");
  EXPECT_THROW_MSG(Sampler({.repetition_penalty = 0.0f}), "repetition_penalty must be > 0");
  EXPECT_THROW_MSG(Sampler({.repeat_last_n = -1}), "repeat_last_n must be >= 0");
  Sampler s({});
  std::vector<float> nan{0.0f, std::nanf("")};
  EXPECT_THROW_MSG(s.sample(nan.data(), 2, {}), "logit 1 is NaN");
  EXPECT_THROW_MSG(s.sample(nan.data(), 0, {}), "need at least one logit");
}

}  // namespace
}  // namespace forge::llm
