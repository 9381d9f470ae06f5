// llm::ChatSession (forge chat): the KV cache kept across turns, dropping old turns to fit the
// context, errors. On SmolLM2-135M-Instruct (Q4_1 GGUF).
//
// Reusing the cache keeps the K/V rows that decoding computed for the previous reply, while a
// fresh prefill recomputes them with the prefill kernels. On the f32 model (dequantize_weights)
// the two agree to ~1e-4 in the logits (llama_test: GemmPrefillAttentionEqualsDecode), far below
// the greedy margins, so the replies are identical; on the default quantized path the 8-bit
// activations turn that into up to ~0.25 logit, enough to flip a near-tie (this model's chatter
// has top-2 gaps of 0.015), so the identity is asserted on the f32 model.
#include "llm/chat_session.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "llm/load.h"
#include "models/llama.h"
#include "llm_test_util.h"
#include "test_util.h"

namespace forge {
namespace {

class ChatSessionTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!test::have_models()) return;
    model_ = llm::load_causal_lm(test::smollm2_path());
    exact_ = models::load_llama_gguf(test::smollm2_path(), /*dequantize_weights=*/true);
  }
  static void TearDownTestSuite() {
    model_.reset();
    exact_.reset();
  }
  void SetUp() override { FORGE_REQUIRE_MODELS(); }

  static llm::ChatSessionOptions greedy(int64_t max_tokens, bool reuse) {
    llm::ChatSessionOptions o;
    o.generate.max_tokens = max_tokens;
    o.generate.sampling.temperature = 0.0f;  // greedy
    o.reuse_cache = reuse;
    return o;
  }
  static llm::ChatTemplate chatml() { return llm::ChatTemplate::detect(*model_->chat_template()); }
  static std::shared_ptr<llm::CausalLM> model_, exact_;
};
std::shared_ptr<llm::CausalLM> ChatSessionTest::model_, ChatSessionTest::exact_;

TEST_F(ChatSessionTest, SecondTurnPrefillsOnlyTheNewTokensAndAnswersTheSame) {
  llm::ChatSession reuse(exact_, chatml(), greedy(12, true));
  llm::ChatSession fresh(exact_, chatml(), greedy(12, false));

  const llm::ChatTurn r1 = reuse.send("What is the capital of France?");
  const llm::ChatTurn f1 = fresh.send("What is the capital of France?");
  EXPECT_EQ(r1.result.tokens, f1.result.tokens);
  EXPECT_EQ(r1.reused_tokens, 0);
  EXPECT_EQ(r1.result.prefilled_tokens, r1.result.prompt_tokens);
  // Everything fed through the model stays cached: the prompt and the reply's tokens (all but the
  // last sampled one when it was not fed back).
  const int64_t cached_after_1 = reuse.cached_tokens();
  EXPECT_GE(cached_after_1, r1.result.prompt_tokens + r1.result.completion_tokens - 1);

  std::string streamed;
  const llm::ChatTurn r2 = reuse.send("And of Italy?", [&](std::string_view piece) {
    streamed += piece;
    return true;
  });
  const llm::ChatTurn f2 = fresh.send("And of Italy?");
  EXPECT_EQ(r2.result.text, f2.result.text);
  EXPECT_EQ(r2.result.tokens, f2.result.tokens);
  EXPECT_EQ(streamed, r2.result.text);
  EXPECT_FALSE(r2.result.text.empty());
  // Turn 2 reuses every cached position and prefills only what the new turn added.
  EXPECT_EQ(r2.result.prompt_tokens, f2.result.prompt_tokens);
  EXPECT_EQ(r2.reused_tokens, cached_after_1);
  EXPECT_EQ(r2.result.prefilled_tokens, r2.result.prompt_tokens - cached_after_1);
  EXPECT_LT(r2.result.prefilled_tokens, 30);
  EXPECT_EQ(f2.reused_tokens, 0);
  EXPECT_EQ(f2.result.prefilled_tokens, f2.result.prompt_tokens);
  ASSERT_EQ(reuse.history().size(), 4u);
  EXPECT_EQ(reuse.history()[3].content, r2.result.text);

  // /reset forgets the conversation and the cache.
  reuse.reset();
  EXPECT_TRUE(reuse.history().empty());
  EXPECT_EQ(reuse.cached_tokens(), 0);
  const llm::ChatTurn again = reuse.send("What is the capital of France?");
  EXPECT_EQ(again.result.tokens, r1.result.tokens);
  EXPECT_EQ(again.reused_tokens, 0);
}

// `forge chat`'s default sampling at temperature 0 (repetition penalty 1.1, top-k 40, top-p 0.9):
// the conversation whose second reply flips on the quantized path stays identical on f32.
TEST_F(ChatSessionTest, SameRepliesWithChatDefaults) {
  std::vector<std::string> replies[2];
  for (int reuse = 0; reuse < 2; ++reuse) {
    auto o = greedy(10, reuse == 1);
    o.generate.sampling = {.temperature = 0.0f, .top_k = 40, .top_p = 0.9f, .repetition_penalty = 1.1f};
    llm::ChatSession s(exact_, chatml(), o);
    for (const char* q : {"What is the capital of France?", "And of Italy?", "Which one is larger?"}) {
      replies[reuse].push_back(s.send(q).result.text);
    }
  }
  EXPECT_EQ(replies[0], replies[1]);
}

TEST_F(ChatSessionTest, DropsTheOldestTurnsWithANoticeWhenTheContextIsFull) {
  auto o = greedy(8, true);
  o.context = 120;  // SmolLM2's template adds a ~30-token default system prompt
  o.min_reply_tokens = 16;
  llm::ChatSession s(model_, chatml(), o);
  std::vector<std::string> notices;
  auto notice = [&](const std::string& n) { notices.push_back(n); };
  int dropped = 0;
  for (int i = 0; i < 6 && dropped == 0; ++i) {
    const llm::ChatTurn t = s.send(fmt::format("Tell me fact number {} about the sea, please.", i), {}, notice);
    dropped += t.dropped_turns;
    EXPECT_LE(t.result.prompt_tokens + t.result.completion_tokens, 120);
  }
  ASSERT_GT(dropped, 0) << "the conversation never outgrew 120 tokens";
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_NE(notices[0].find("dropped the oldest"), std::string::npos) << notices[0];
  EXPECT_NE(notices[0].find("120 tokens"), std::string::npos) << notices[0];
  // The oldest exchange is gone; the newest user message is still there, answered.
  EXPECT_EQ(s.history().front().role, "user");
  EXPECT_EQ(s.history().front().content.find("number 0"), std::string::npos);
  EXPECT_EQ(s.history().back().role, "assistant");
}

TEST_F(ChatSessionTest, Errors) {
  auto o = greedy(4, true);
  o.context = 64;
  llm::ChatSession s(model_, chatml(), o);
  std::string long_text;
  for (int i = 0; i < 80; ++i) long_text += "word ";
  EXPECT_THROW_MSG(s.send(long_text), "[chat] the message needs");
  EXPECT_TRUE(s.history().empty());  // the rejected message is not kept
  auto bad = greedy(4, true);
  bad.context = -1;
  EXPECT_THROW_MSG(llm::ChatSession(model_, chatml(), bad), "[chat] context must be >= 0");
  EXPECT_THROW_MSG(llm::ChatSession(nullptr, chatml(), greedy(4, true)), "[chat] no model given");
}

TEST_F(ChatSessionTest, GenerateContinueErrors) {
  auto& model = model_;
  auto cache = model->new_cache(8);
  llm::GenerateOptions o;
  o.max_tokens = 2;
  EXPECT_THROW_MSG(llm::generate_continue(*model, *cache, std::vector<int32_t>(8, 1), o),
                   "the prompt has 8 tokens but the cache holds 8");
  (void)model->forward({1, 2, 3}, *cache);
  EXPECT_THROW_MSG(llm::generate_continue(*model, *cache, {1, 2, 3}, o), "the cache already holds 3 positions");
}

}  // namespace
}  // namespace forge
