#pragma once
// Next-token sampling shared by every generator (Forge GPTs, pretrained LLMs, the server).
//
// CONTRACT (shared by branches gpt, llama, serve): do not change signatures; add members.
#include <cstdint>
#include <vector>

#include "core/random.h"

namespace forge::llm {

struct SamplingParams {
  float temperature = 1.0f;         // 0 = greedy (argmax)
  int32_t top_k = 0;                // 0 = off
  float top_p = 1.0f;               // nucleus; 1 = off
  float min_p = 0.0f;               // drop tokens with p < min_p * p_max; 0 = off
  float repetition_penalty = 1.0f;  // >1 penalizes tokens in the last repeat_last_n ids (llama.cpp rule)
  int32_t repeat_last_n = 64;
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplingParams params);  // validates (temperature >= 0, 0 < top_p <= 1, ...)
  // Picks the next id from `vocab` logits given the ids so far. Allocation-free after the first call.
  int32_t sample(const float* logits, int64_t vocab, const std::vector<int32_t>& history);
  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  Generator gen_;
  std::vector<float> scratch_;
  std::vector<int32_t> order_;
};

}  // namespace forge::llm
