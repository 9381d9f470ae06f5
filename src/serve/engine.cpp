// Continuous batching over slots (see engine.h). Engine-thread only: Slot state, the model and
// its caches; the queue is shared with handlers under mu_.
#include "serve/engine.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace forge::serve {

// ---- GenerationTask

GenerationTask::GenerationTask(GenerationRequest request) : request_(std::move(request)) {}

bool GenerationTask::wait(std::vector<TokenPiece>& out, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return finished_ || !pieces_.empty(); });
  while (!pieces_.empty()) {
    out.push_back(std::move(pieces_.front()));
    pieces_.pop_front();
  }
  return finished_;
}

const GenerationResult& GenerationTask::wait_result() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return finished_; });
  pieces_.clear();
  return result_;
}

void GenerationTask::push(TokenPiece piece) {
  {
    std::lock_guard lock(mu_);
    pieces_.push_back(std::move(piece));
  }
  cv_.notify_all();
}

void GenerationTask::finish(GenerationResult result) {
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    result_ = std::move(result);
    finished_ = true;
  }
  cv_.notify_all();
}

// ---- engine

struct LlmEngine::Slot {
  std::unique_ptr<llm::KvCache> cache;
  GenerationTaskPtr task;
  std::unique_ptr<llm::Sampler> sampler;
  size_t prefilled = 0;            // prompt tokens already in the cache
  std::vector<int32_t> history;    // prompt + generated (repetition penalty)
  std::vector<int32_t> generated;  // completion ids
  std::vector<int32_t> chunk;      // this step's input tokens
  std::string text;                // completion text so far (stop strings cut off)
  size_t released = 0;             // bytes of text already pushed to the task
  std::chrono::steady_clock::time_point started;
  double ttft = 0;
  bool active() const { return task != nullptr; }
};

namespace {

// Length of the longest suffix of `text` that is a proper prefix of some stop string: those
// bytes are held back until the next token decides.
size_t held_suffix(const std::string& text, const std::vector<std::string>& stops) {
  size_t held = 0;
  for (const auto& s : stops) {
    for (size_t n = std::min(s.size() - 1, text.size()); n > held; --n) {
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        held = n;
        break;
      }
    }
  }
  return held;
}

// log-softmax value of `id` and the `top` best alternatives.
void token_logprobs(const float* logits, int64_t vocab, int32_t id, int32_t top, TokenPiece& piece) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < vocab; ++i) max = std::max(max, logits[i]);
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - max));
  float log_z = max + static_cast<float>(std::log(sum));
  piece.logprob = logits[id] - log_z;
  if (top <= 0) return;
  std::vector<int32_t> order(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) order[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  size_t k = std::min<size_t>(static_cast<size_t>(top), order.size());
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                    [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
  for (size_t i = 0; i < k; ++i) piece.top.emplace_back(order[i], logits[order[i]] - log_z);
}

}  // namespace

LlmEngine::LlmEngine(llm::CausalLMPtr model, EngineOptions options) : model_(std::move(model)), options_(options) {
  FORGE_CHECK(model_ != nullptr, "[serve] engine needs a model");
  FORGE_CHECK(options_.slots >= 1, "[serve] slots must be >= 1, got {}", options_.slots);
  FORGE_CHECK(options_.prefill_budget >= 1, "[serve] prefill budget must be >= 1, got {}", options_.prefill_budget);
  slot_tokens_ =
      options_.slot_tokens > 0 ? std::min(options_.slot_tokens, model_->context_length()) : model_->context_length();
  auto slots = std::make_shared<std::vector<Slot>>(static_cast<size_t>(options_.slots));
  for (auto& s : *slots) s.cache = model_->new_cache(slot_tokens_);
  thread_ = std::thread([this, slots] {
    while (true) {
      {
        std::unique_lock lock(mu_);
        bool any_active = std::any_of(slots->begin(), slots->end(), [](const Slot& s) { return s.active(); });
        cv_.wait(lock, [&] { return stopping_ || any_active || !queue_.empty(); });
        if (stopping_) break;
      }
      step(*slots);
    }
    // Stopping: everything still running or queued ends as cancelled.
    for (auto& s : *slots) {
      if (!s.active()) continue;
      GenerationResult r;
      r.finish_reason = "cancelled";
      r.tokens = s.generated;
      r.text = s.text;
      r.prompt_tokens = static_cast<int64_t>(s.task->request().prompt.size());
      r.completion_tokens = static_cast<int64_t>(s.generated.size());
      s.task->finish(std::move(r));
      s.task.reset();
    }
    std::deque<GenerationTaskPtr> rest;
    {
      std::lock_guard lock(mu_);
      rest.swap(queue_);
    }
    for (auto& t : rest) {
      GenerationResult r;
      r.finish_reason = "cancelled";
      r.prompt_tokens = static_cast<int64_t>(t->request().prompt.size());
      t->finish(std::move(r));
    }
    active_.store(0);
  });
}

LlmEngine::~LlmEngine() { stop(); }

void LlmEngine::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  // Server shutdown calls stop() from the listen thread and from the stop thread at once; two
  // unsynchronized joins of one std::thread are undefined (seen as a hang in ~Server).
  std::lock_guard join_lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

bool LlmEngine::submit(GenerationTaskPtr task) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= options_.max_queue) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_all();
  return true;
}

size_t LlmEngine::queue_depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void LlmEngine::step(std::vector<Slot>& slots) {
  const auto now = std::chrono::steady_clock::now();
  auto end_slot = [&](Slot& s, const std::string& reason, const std::string& error = "") {
    // Release held-back text: no stop string can match any more.
    if (reason != "cancelled" && reason != "error" && s.released < s.text.size()) {
      TokenPiece p;
      p.text = s.text.substr(s.released);
      s.task->push(std::move(p));
    }
    GenerationResult r;
    r.tokens = std::move(s.generated);
    r.text = std::move(s.text);
    r.finish_reason = reason;
    r.error = error;
    r.prompt_tokens = static_cast<int64_t>(s.task->request().prompt.size());
    r.completion_tokens = static_cast<int64_t>(r.tokens.size());
    r.time_to_first_token_s = s.ttft;
    s.task->finish(std::move(r));
    s.task.reset();
    s.sampler.reset();
    s.generated.clear();
    s.text.clear();
    s.history.clear();
  };

  // Admit queued tasks into free slots; queued tasks whose client left finish at once.
  {
    std::lock_guard lock(mu_);
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->cancelled()) {
        GenerationResult r;
        r.finish_reason = "cancelled";
        r.prompt_tokens = static_cast<int64_t>((*it)->request().prompt.size());
        (*it)->finish(std::move(r));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& s : slots) {
      if (s.active()) continue;
      while (!queue_.empty()) {
        GenerationTaskPtr t = std::move(queue_.front());
        queue_.pop_front();
        if (t->cancelled()) {
          GenerationResult r;
          r.finish_reason = "cancelled";
          r.prompt_tokens = static_cast<int64_t>(t->request().prompt.size());
          t->finish(std::move(r));
          continue;
        }
        s.task = std::move(t);
        break;
      }
      if (!s.active()) continue;
      s.cache->truncate(0);
      s.prefilled = 0;
      s.released = 0;
      s.ttft = 0;
      s.started = now;
      s.history = s.task->request().prompt;
      try {
        s.sampler = std::make_unique<llm::Sampler>(s.task->request().sampling);
      } catch (const std::exception& e) {
        s.task->finish(GenerationResult{{}, {}, "error", e.what(), 0, 0, 0});
        s.task.reset();
      }
    }
  }

  // Drop cancelled and expired tasks; build this step's chunks: decodes first, then prefill
  // chunks within the budget.
  std::vector<llm::SeqChunk> chunks;
  std::vector<Slot*> owners;
  int active = 0;
  for (auto& s : slots) {
    if (!s.active()) continue;
    if (s.task->cancelled()) {
      end_slot(s, "cancelled");
      continue;
    }
    if (now > s.task->request().deadline) {
      end_slot(s, "timeout");
      continue;
    }
    ++active;
    if (s.prefilled == s.task->request().prompt.size()) {
      s.chunk.assign(1, s.generated.back());
      chunks.push_back({&s.chunk, s.cache.get()});
      owners.push_back(&s);
    }
  }
  active_.store(active);
  int64_t budget = options_.prefill_budget;
  for (auto& s : slots) {
    if (!s.active() || budget <= 0) continue;
    const auto& prompt = s.task->request().prompt;
    if (s.prefilled == prompt.size()) continue;
    size_t n = std::min<size_t>(prompt.size() - s.prefilled, static_cast<size_t>(budget));
    s.chunk.assign(prompt.begin() + static_cast<std::ptrdiff_t>(s.prefilled),
                   prompt.begin() + static_cast<std::ptrdiff_t>(s.prefilled + n));
    budget -= static_cast<int64_t>(n);
    chunks.push_back({&s.chunk, s.cache.get()});
    owners.push_back(&s);
  }
  if (chunks.empty()) return;

  Tensor logits;
  try {
    logits = model_->forward_batch(chunks).contiguous();
  } catch (const std::exception& e) {
    for (Slot* s : owners) end_slot(*s, "error", e.what());
    return;
  }
  steps_.fetch_add(1);
  const int64_t vocab = logits.size(1);
  const float* rows = logits.data<float>();
  const auto tokenizer = model_->tokenizer();
  for (size_t i = 0; i < owners.size(); ++i) {
    Slot& s = *owners[i];
    const GenerationRequest& req = s.task->request();
    if (s.prefilled < req.prompt.size()) {
      s.prefilled += s.chunk.size();
      if (s.prefilled < req.prompt.size()) continue;  // more prompt to feed; these logits are not needed
    }
    const float* row = rows + static_cast<int64_t>(i) * vocab;
    int32_t id = s.sampler->sample(row, vocab, s.history);
    if (s.generated.empty()) {
      s.ttft = std::chrono::duration<double>(std::chrono::steady_clock::now() - s.started).count();
    }
    TokenPiece piece;
    piece.id = id;
    if (req.logprobs) token_logprobs(row, vocab, id, req.top_logprobs, piece);
    bool is_stop_id = std::find(req.stop_ids.begin(), req.stop_ids.end(), id) != req.stop_ids.end();
    std::string text = is_stop_id ? std::string() : tokenizer->decode_next(s.generated, id);
    s.generated.push_back(id);
    s.history.push_back(id);
    if (is_stop_id) {
      s.task->push(std::move(piece));
      end_slot(s, "stop");
      continue;
    }
    // Stop strings: search only where a match could start (the new text and what was held).
    size_t search_from = s.released;
    s.text += text;
    size_t match = std::string::npos;
    for (const auto& stop : req.stop) {
      size_t p = s.text.find(stop, search_from);
      if (p != std::string::npos) match = std::min(match, p);
    }
    if (match != std::string::npos) {
      s.text.resize(match);
      piece.text = s.text.substr(s.released);
      s.released = s.text.size();
      s.task->push(std::move(piece));
      end_slot(s, "stop");
      continue;
    }
    size_t safe = s.text.size() - held_suffix(s.text, req.stop);
    if (safe > s.released) {
      piece.text = s.text.substr(s.released, safe - s.released);
      s.released = safe;
    }
    s.task->push(std::move(piece));
    if (static_cast<int64_t>(s.generated.size()) >= req.max_tokens || s.cache->size() + 1 > s.cache->capacity()) {
      end_slot(s, "length");
    }
  }
}

}  // namespace forge::serve
