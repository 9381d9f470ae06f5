#include "llm/generate.h"
#include "test_util.h"
#include "text/char_tokenizer.h"

namespace forge::llm {
namespace {

class CountingCache : public KvCache {
 public:
  explicit CountingCache(int64_t cap) : cap_(cap) {}
  int64_t size() const override { return n_; }
  int64_t capacity() const override { return cap_; }
  void truncate(int64_t n) override { n_ = std::min(n_, n); }
  int64_t n_ = 0, cap_;
};

// Emits `script` (as text) greedily after any prompt: the logits at cache position p favour
// script[p - prompt_len].
class ScriptedLM : public CausalLM {
 public:
  ScriptedLM(const std::string& script, int64_t context = 64)
      : tok_(text::CharTokenizer::fit("abcdefghijklmnopqrstuvwxyz <>.!")), context_(context) {
    script_ = tok_->encode(script);
  }
  std::string name() const override { return "scripted"; }
  int64_t vocab_size() const override { return tok_->vocab_size(); }
  int64_t context_length() const override { return context_; }
  std::unique_ptr<KvCache> new_cache(int64_t max_tokens) const override {
    return std::make_unique<CountingCache>(max_tokens);
  }
  Tensor forward(const std::vector<int32_t>& tokens, KvCache& cache, bool) override {
    auto& c = static_cast<CountingCache&>(cache);
    FORGE_CHECK(c.n_ + static_cast<int64_t>(tokens.size()) <= c.cap_, "[scripted] over capacity");
    if (c.n_ == 0) prompt_len_ = static_cast<int64_t>(tokens.size());
    c.n_ += static_cast<int64_t>(tokens.size());
    ++calls_;
    Tensor out = zeros({1, vocab_size()});
    const int64_t i = c.n_ - prompt_len_;
    const int32_t next = script_[static_cast<size_t>(i) % script_.size()];
    out.data<float>()[next] = 10.0f;
    return out;
  }
  text::TokenizerPtr tokenizer() const override { return tok_; }
  std::shared_ptr<text::CharTokenizer> tok_;
  std::vector<int32_t> script_;
  int64_t context_;
  int64_t prompt_len_ = 0;
  int calls_ = 0;
};

GenerateOptions greedy(int64_t max_tokens) {
  GenerateOptions o;
  o.max_tokens = max_tokens;
  o.sampling.temperature = 0.0f;
  return o;
}

TEST(Generate, MaxTokensAndLength) {
  ScriptedLM lm("hello world");
  std::string streamed;
  auto r = generate(lm, lm.tok_->encode("ab"), greedy(5), [&](std::string_view s) {
    streamed += s;
    return true;
  });
  EXPECT_EQ(r.text, "hello");
  EXPECT_EQ(streamed, "hello");
  EXPECT_EQ(r.finish_reason, "length");
  EXPECT_EQ(r.completion_tokens, 5);
  EXPECT_EQ(r.prompt_tokens, 2);
  EXPECT_EQ(lm.calls_, 5);  // one prefill + 4 decode steps (no forward after the last token)
}

TEST(Generate, StopStringAcrossTokensIsNeverStreamed) {
  ScriptedLM lm("abc<end>xyz");
  auto o = greedy(20);
  o.stop = {"<end>"};
  std::vector<std::string> pieces;
  auto r = generate(lm, lm.tok_->encode("q"), o, [&](std::string_view s) {
    pieces.emplace_back(s);
    return true;
  });
  EXPECT_EQ(r.text, "abc");
  EXPECT_EQ(r.finish_reason, "stop");
  std::string all;
  for (const auto& p : pieces) {
    all += p;
    EXPECT_EQ(p.find('<'), std::string::npos) << "a partial stop string was streamed: " << p;
  }
  EXPECT_EQ(all, "abc");
}

TEST(Generate, HeldBackPrefixIsReleasedWhenItIsNotAStop) {
  ScriptedLM lm("ab<en!cd");
  auto o = greedy(8);
  o.stop = {"<end>"};
  std::string streamed;
  auto r = generate(lm, lm.tok_->encode("q"), o, [&](std::string_view s) {
    streamed += s;
    return true;
  });
  EXPECT_EQ(r.text, "ab<en!cd");
  EXPECT_EQ(streamed, "ab<en!cd");
  EXPECT_EQ(r.finish_reason, "length");
}

TEST(Generate, EarliestOfSeveralStopStrings) {
  ScriptedLM lm("one. two! three");
  auto o = greedy(30);
  o.stop = {"!", "two"};
  auto r = generate(lm, lm.tok_->encode("q"), o);
  EXPECT_EQ(r.text, "one. ");
}

TEST(Generate, StopIdsEndWithoutTheToken) {
  ScriptedLM lm("abcd");
  auto o = greedy(10);
  o.stop_ids = {*lm.tok_->token_to_id("c")};
  auto r = generate(lm, lm.tok_->encode("q"), o);
  EXPECT_EQ(r.text, "ab");
  EXPECT_EQ(r.tokens.size(), 2u);
  EXPECT_EQ(r.finish_reason, "stop");
}

TEST(Generate, Cancellation) {
  ScriptedLM lm("abcdefgh");
  int calls = 0;
  auto r = generate(lm, lm.tok_->encode("q"), greedy(8), [&](std::string_view) { return ++calls < 3; });
  EXPECT_EQ(r.finish_reason, "cancelled");
  EXPECT_EQ(r.text, "abc");
}

TEST(Generate, StopsAtTheContext) {
  ScriptedLM lm("abcdefgh", /*context=*/6);
  auto r = generate(lm, lm.tok_->encode("qq"), greedy(100));
  EXPECT_EQ(r.text, "abcd");
  EXPECT_EQ(r.finish_reason, "length");
}

TEST(Generate, PrefillInChunks) {
  ScriptedLM lm("xy");
  auto o = greedy(2);
  o.prefill_chunk = 3;
  auto r = generate(lm, lm.tok_->encode("abcdefg"), o);
  EXPECT_EQ(lm.calls_, 3 + 1);
  EXPECT_EQ(r.text, "xy");
}

TEST(Generate, Errors) {
  ScriptedLM lm("ab", /*context=*/4);
  EXPECT_THROW_MSG(generate(lm, lm.tok_->encode("abcd"), greedy(3)),
                   "the prompt has 4 tokens but the model's context holds 4");
  EXPECT_THROW_MSG(generate(lm, {}, greedy(3)), "the prompt is empty");
  EXPECT_THROW_MSG(generate(lm, {99}, greedy(3)), "prompt token id 99 is out of range");
  auto o = greedy(3);
  o.stop = {""};
  EXPECT_THROW_MSG(generate(lm, {1}, o), "stop strings must not be empty");
  o = greedy(-1);
  EXPECT_THROW_MSG(generate(lm, {1}, o), "max_tokens must be >= 0");
}

TEST(Generate, ForwardBatchDefaultStacksLastLogits) {
  ScriptedLM lm("ab");
  auto c1 = lm.new_cache(8), c2 = lm.new_cache(8);
  std::vector<int32_t> t1{1, 2}, t2{3};
  Tensor out = lm.forward_batch({{&t1, c1.get()}, {&t2, c2.get()}});
  EXPECT_EQ(out.shape(), (Shape{2, lm.vocab_size()}));
  EXPECT_EQ(c1->size(), 2);
  EXPECT_EQ(c2->size(), 1);
}

}  // namespace
}  // namespace forge::llm
