#pragma once
// The generation loop over any CausalLM: prefill the prompt, then sample token by token with the
// KV cache, streaming text pieces and honouring stop strings.
//
// CONTRACT (shared by branches gpt, llama, serve): do not change signatures; add members.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/causal_lm.h"
#include "llm/sampler.h"

namespace forge::llm {

struct GenerateOptions {
  int64_t max_tokens = 128;
  SamplingParams sampling{};
  std::vector<std::string> stop{};   // stop strings: generation ends before the first match,
                                     // which is not part of the returned/streamed text
  std::vector<int32_t> stop_ids{};   // e.g. EOS / <|im_end|>; the tokenizer's eos is added by default
  int64_t prefill_chunk = 512;       // prompt tokens per forward call
};

struct GenerateResult {
  std::vector<int32_t> tokens;   // generated ids (without the prompt)
  std::string text;              // generated text (stop string excluded)
  std::string finish_reason;     // "stop" (stop string / stop id), "length", or "cancelled"
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double prefill_seconds = 0.0;
  double decode_seconds = 0.0;
  int64_t prefilled_tokens = 0;  // prompt tokens run through the model (fewer than prompt_tokens
                                 // when generate_continue reused a cached prefix)
};

// on_text receives each new piece of text as soon as it is certain not to be part of a stop
// string; returning false cancels (finish_reason "cancelled"). Throws when the prompt does not
// fit the context (never truncates silently).
GenerateResult generate(CausalLM& model, const std::vector<int32_t>& prompt, const GenerateOptions& options,
                        const std::function<bool(std::string_view)>& on_text = {});

// Like generate(), but continues the sequence already in `cache` (a multi-turn chat keeps one
// cache across turns): its first cache.size() positions must hold the first tokens of `prompt`
// (the caller guarantees it, e.g. by truncating the cache to the common prefix), and only the
// rest of the prompt is prefilled. At least one prompt token must be new (cache.size() <
// prompt.size()). The completion is limited by the cache's capacity as well as the context;
// afterwards the cache holds the prompt and every generated token that was fed back, i.e. the
// first cache.size() tokens of prompt + result.tokens.
GenerateResult generate_continue(CausalLM& model, KvCache& cache, const std::vector<int32_t>& prompt,
                                 const GenerateOptions& options,
                                 const std::function<bool(std::string_view)>& on_text = {});

}  // namespace forge::llm
