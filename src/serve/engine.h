#pragma once
// The generation engine of one language model: HTTP handlers validate a request, wrap it in a
// GenerationTask and submit() it; one engine thread runs continuous batching over N slots (one
// KvCache each, allocated once) with llm::CausalLM::forward_batch. Each step decodes one token
// for every running sequence and spends at most `prefill_budget` prompt tokens on sequences still
// prefilling, so a long new prompt is fed in chunks between decode steps instead of freezing the
// running streams. Tasks stream TokenPieces back; a cancelled task (client gone) or one past its
// deadline frees its slot at the next step.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "llm/causal_lm.h"
#include "llm/sampler.h"

namespace forge::serve {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids; prompt.size() + max_tokens <= context length (checked by the caller)
  int64_t max_tokens = 16;
  llm::SamplingParams sampling{};
  std::vector<std::string> stop;  // stop strings (excluded from the text)
  std::vector<int32_t> stop_ids;  // stop tokens (EOS, <|im_end|>)
  int32_t top_logprobs = 0;       // alternatives per token when logprobs is on
  bool logprobs = false;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

// One generated token: its id, the text it made certain (may be empty while a multi-byte
// character or a possible stop string is pending, or longer when held text is released).
struct TokenPiece {
  int32_t id = -1;  // -1: only releases held text
  std::string text;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // top_logprobs alternatives (id, logprob)
};

struct GenerationResult {
  std::vector<int32_t> tokens;
  std::string text;
  std::string finish_reason;  // "stop", "length", "cancelled", "timeout", "error"
  std::string error;          // message when finish_reason == "error"
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double time_to_first_token_s = 0;
};

class GenerationTask {
 public:
  explicit GenerationTask(GenerationRequest request);
  const GenerationRequest& request() const { return request_; }
  // Handler side.
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  // Waits up to `timeout` for pieces, appends them to `out`; true once the task has finished
  // and every piece was handed out (then result() is final).
  bool wait(std::vector<TokenPiece>& out, std::chrono::milliseconds timeout);
  // Blocks until finished; returns the result.
  const GenerationResult& wait_result();
  const GenerationResult& result() const { return result_; }
  // Engine side.
  void push(TokenPiece piece);
  void finish(GenerationResult result);

 private:
  GenerationRequest request_;
  std::atomic<bool> cancelled_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<TokenPiece> pieces_;
  bool finished_ = false;
  GenerationResult result_;
};

using GenerationTaskPtr = std::shared_ptr<GenerationTask>;

struct EngineOptions {
  int slots = 4;                 // sequences decoded together
  int64_t prefill_budget = 256;  // prompt tokens per step over all prefilling slots
  size_t max_queue = 64;         // waiting tasks beyond the slots; more are refused
  int64_t slot_tokens = 0;       // KV capacity per slot; 0 = the model's context length
};

class LlmEngine {
 public:
  LlmEngine(llm::CausalLMPtr model, EngineOptions options);
  ~LlmEngine();
  LlmEngine(const LlmEngine&) = delete;
  LlmEngine& operator=(const LlmEngine&) = delete;

  // Queues a task; false when the queue is full or the engine is stopping.
  bool submit(GenerationTaskPtr task);
  // Stops the loop: running and queued tasks finish as "cancelled". Idempotent.
  void stop();

  llm::CausalLM& model() const { return *model_; }
  const EngineOptions& options() const { return options_; }
  int64_t max_sequence_tokens() const { return slot_tokens_; }  // prompt + completion per request
  size_t queue_depth() const;
  int active_slots() const { return active_.load(); }
  uint64_t steps() const { return steps_.load(); }

 private:
  struct Slot;
  void step(std::vector<Slot>& slots);

  llm::CausalLMPtr model_;
  EngineOptions options_;
  int64_t slot_tokens_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<GenerationTaskPtr> queue_;
  bool stopping_ = false;
  std::atomic<int> active_{0};
  std::atomic<uint64_t> steps_{0};
  std::mutex join_mu_;  // stop() runs on several threads at shutdown (listen thread, stop thread)
  std::thread thread_;
};

}  // namespace forge::serve
