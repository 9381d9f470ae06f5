#pragma once
// A deterministic CausalLM test double for the server tests (tests only; the server itself has
// no fake model). Byte vocabulary (ids 0..255) plus EOS (256). After a lowercase letter it
// predicts the next letter, after 'z' EOS, after anything else 'a': a prompt ending in '\n'
// generates "abcdefghijklmnopqrstuvwxyz" and stops. Records every forward_batch step.
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "core/error.h"
#include "llm/causal_lm.h"

namespace forge::test {

class ByteTokenizer : public text::Tokenizer {
 public:
  ByteTokenizer() { special_.eos = 256; }
  std::string kind() const override { return "byte"; }
  std::vector<int32_t> encode(std::string_view text, bool = false) const override {
    std::vector<int32_t> ids;
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }
  std::string decode(const std::vector<int32_t>& ids, bool = false) const override {
    std::string out;
    for (int32_t id : ids) {
      if (id < 256) out += static_cast<char>(id);
    }
    return out;
  }
  std::string decode_next(const std::vector<int32_t>&, int32_t id) const override {
    return id < 256 ? std::string(1, static_cast<char>(id)) : std::string();
  }
  int32_t vocab_size() const override { return 257; }
  std::optional<int32_t> token_to_id(std::string_view) const override { return std::nullopt; }
  std::string id_to_token(int32_t id) const override { return decode({id}); }
  const text::SpecialTokens& special_tokens() const override { return special_; }

 private:
  text::SpecialTokens special_;
};

class FakeCache : public llm::KvCache {
 public:
  explicit FakeCache(int64_t capacity) : capacity_(capacity) {}
  int64_t size() const override { return static_cast<int64_t>(tokens.size()); }
  int64_t capacity() const override { return capacity_; }
  void truncate(int64_t n) override { tokens.resize(static_cast<size_t>(std::min<int64_t>(n, size()))); }
  std::vector<int32_t> tokens;

 private:
  int64_t capacity_;
};

class FakeLM : public llm::CausalLM {
 public:
  explicit FakeLM(int64_t context = 256, std::chrono::milliseconds step_delay = std::chrono::milliseconds(0))
      : context_(context), delay_(step_delay), tok_(std::make_shared<ByteTokenizer>()) {}
  std::string name() const override { return "fake"; }
  int64_t vocab_size() const override { return 257; }
  int64_t context_length() const override { return context_; }
  std::unique_ptr<llm::KvCache> new_cache(int64_t max_tokens) const override {
    return std::make_unique<FakeCache>(max_tokens);
  }
  Tensor forward(const std::vector<int32_t>& tokens, llm::KvCache& cache, bool) override {
    auto& c = dynamic_cast<FakeCache&>(cache);
    FORGE_CHECK(c.size() + static_cast<int64_t>(tokens.size()) <= c.capacity(), "[fake] cache full");
    c.tokens.insert(c.tokens.end(), tokens.begin(), tokens.end());
    std::vector<float> logits(257, 0.0f);
    logits[static_cast<size_t>(next_of(c.tokens.back()))] = 10.0f;
    return from_vector(logits, {1, 257});
  }
  Tensor forward_batch(const std::vector<llm::SeqChunk>& chunks) override {
    if (delay_.count() > 0) std::this_thread::sleep_for(delay_);
    std::vector<float> all;
    {
      std::lock_guard lock(mu);
      std::vector<size_t> sizes;
      for (const auto& ch : chunks) sizes.push_back(ch.tokens->size());
      steps.push_back(sizes);
    }
    for (const auto& ch : chunks) {
      Tensor row = forward(*ch.tokens, *ch.cache, true);
      auto v = row.to_vector<float>();
      all.insert(all.end(), v.begin(), v.end());
    }
    return from_vector(all, {static_cast<int64_t>(chunks.size()), 257});
  }
  text::TokenizerPtr tokenizer() const override { return tok_; }

  static int32_t next_of(int32_t t) {
    if (t >= 'a' && t < 'z') return t + 1;
    if (t == 'z') return 256;
    return 'a';
  }

  std::mutex mu;
  std::vector<std::vector<size_t>> steps;  // chunk sizes per forward_batch call

 private:
  int64_t context_;
  std::chrono::milliseconds delay_;
  text::TokenizerPtr tok_;
};

}  // namespace forge::test
