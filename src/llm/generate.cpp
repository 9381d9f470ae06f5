#include "llm/generate.h"

#include <algorithm>
#include <chrono>

#include "autograd/grad_mode.h"
#include "core/error.h"

namespace forge::llm {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Length of the longest suffix of `text` that is a proper prefix of some stop string: those
// bytes may still become a stop string and are held back from streaming.
size_t held_suffix(std::string_view text, const std::vector<std::string>& stops) {
  size_t best = 0;
  for (const std::string& s : stops) {
    const size_t max_len = std::min(text.size(), s.size() - 1);
    for (size_t len = max_len; len > best; --len) {
      if (text.substr(text.size() - len) == std::string_view(s).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

}  // namespace

namespace {

GenerateResult run(CausalLM& model, KvCache* given_cache, const std::vector<int32_t>& prompt,
                   const GenerateOptions& options, const std::function<bool(std::string_view)>& on_text) {
  FORGE_CHECK(!prompt.empty(), "[generate] the prompt is empty (give at least one token)");
  FORGE_CHECK(options.max_tokens >= 0, "[generate] max_tokens must be >= 0, got {}", options.max_tokens);
  FORGE_CHECK(options.prefill_chunk > 0, "[generate] prefill_chunk must be > 0, got {}", options.prefill_chunk);
  for (const std::string& s : options.stop) {
    FORGE_CHECK(!s.empty(), "[generate] stop strings must not be empty");
  }
  const int64_t context = model.context_length();
  const int64_t prompt_len = static_cast<int64_t>(prompt.size());
  FORGE_CHECK(prompt_len < context || (prompt_len == context && options.max_tokens == 0),
              "[generate] the prompt has {} tokens but the model's context holds {} (leave room for at least one new "
              "token; prompts are never truncated)",
              prompt_len, context);
  const int64_t vocab = model.vocab_size();
  for (int32_t id : prompt) {
    FORGE_CHECK(id >= 0 && id < vocab, "[generate] prompt token id {} is out of range for vocabulary size {}", id,
                vocab);
  }

  NoGradGuard no_grad;
  Sampler sampler(options.sampling);
  text::TokenizerPtr tok = model.tokenizer();
  std::vector<int32_t> stop_ids = options.stop_ids;
  if (tok && tok->special_tokens().eos) stop_ids.push_back(*tok->special_tokens().eos);

  GenerateResult result;
  result.prompt_tokens = prompt_len;
  result.finish_reason = "length";
  // A token is sampled from the logits of the previous position, so the cache needs one slot
  // less than prompt + max_tokens; it never exceeds the context.
  int64_t budget = std::min(options.max_tokens, context - prompt_len);
  if (options.max_tokens == 0) return result;
  std::unique_ptr<KvCache> own_cache;
  int64_t reused = 0;
  if (given_cache) {
    reused = given_cache->size();
    FORGE_CHECK(reused < prompt_len,
                "[generate] the cache already holds {} positions but the prompt has {} tokens (at least one must be new)",
                reused, prompt_len);
    FORGE_CHECK(prompt_len < given_cache->capacity(),
                "[generate] the prompt has {} tokens but the cache holds {} (leave room for at least one new token)",
                prompt_len, given_cache->capacity());
    budget = std::min(budget, given_cache->capacity() - prompt_len + 1);
  } else {
    own_cache = model.new_cache(std::min(context, prompt_len + budget));
  }
  KvCache* cache = given_cache ? given_cache : own_cache.get();
  result.prefilled_tokens = prompt_len - reused;

  auto t0 = Clock::now();
  Tensor logits;
  std::vector<int32_t> chunk;
  for (int64_t start = reused; start < prompt_len; start += options.prefill_chunk) {
    const int64_t end = std::min(prompt_len, start + options.prefill_chunk);
    chunk.assign(prompt.begin() + start, prompt.begin() + end);
    logits = model.forward(chunk, *cache, /*last_only=*/true);
  }
  result.prefill_seconds = seconds_since(t0);

  t0 = Clock::now();
  std::vector<int32_t> history = prompt;  // for the repetition penalty
  history.reserve(static_cast<size_t>(prompt_len + budget));
  std::string& text = result.text;
  size_t emitted = 0;  // bytes of text already streamed
  size_t max_stop = 0;
  for (const std::string& s : options.stop) max_stop = std::max(max_stop, s.size());
  std::vector<int32_t> one(1);

  auto emit = [&](size_t upto) -> bool {
    if (upto <= emitted) return true;
    const std::string_view piece(text.data() + emitted, upto - emitted);
    emitted = upto;
    return !on_text || on_text(piece);
  };

  for (int64_t step = 0; step < budget; ++step) {
    Tensor row = logits.contiguous();
    FORGE_CHECK(row.dtype() == DType::kF32 && row.numel() == vocab,
                "[generate] the model returned logits of shape {}, expected [1, {}]", shape_str(row), vocab);
    const int32_t id = sampler.sample(row.data<float>(), vocab, history);
    if (std::find(stop_ids.begin(), stop_ids.end(), id) != stop_ids.end()) {
      result.finish_reason = "stop";
      break;
    }
    const std::string piece = tok ? tok->decode_next(result.tokens, id) : std::string();
    result.tokens.push_back(id);
    history.push_back(id);
    const size_t before = text.size();
    text += piece;

    bool stopped = false;
    if (!options.stop.empty() && !piece.empty()) {
      // A match can only start in the bytes that this piece could complete.
      const size_t from = before >= max_stop ? before - max_stop + 1 : 0;
      size_t hit = std::string::npos;
      for (const std::string& s : options.stop) {
        const size_t p = text.find(s, from);
        if (p != std::string::npos) hit = std::min(hit, p);
      }
      if (hit != std::string::npos) {
        text.resize(hit);
        stopped = true;
      }
    }
    if (stopped) {
      result.finish_reason = "stop";
      emit(text.size());
      break;
    }
    if (!emit(text.size() - held_suffix(text, options.stop))) {
      result.finish_reason = "cancelled";
      break;
    }
    if (step + 1 == budget) break;  // no logits needed after the last token
    one[0] = id;
    logits = model.forward(one, *cache, /*last_only=*/true);
  }
  if (result.finish_reason == "length") emit(text.size());  // held-back bytes were not a stop string
  result.completion_tokens = static_cast<int64_t>(result.tokens.size());
  result.decode_seconds = seconds_since(t0);
  return result;
}

}  // namespace

GenerateResult generate(CausalLM& model, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const std::function<bool(std::string_view)>& on_text) {
  return run(model, nullptr, prompt, options, on_text);
}

GenerateResult generate_continue(CausalLM& model, KvCache& cache, const std::vector<int32_t>& prompt,
                                 const GenerateOptions& options, const std::function<bool(std::string_view)>& on_text) {
  return run(model, &cache, prompt, options, on_text);
}

}  // namespace forge::llm
