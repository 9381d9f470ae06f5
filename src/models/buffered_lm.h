#pragma once
// Pretrained language models whose core writes logits into a caller's buffer (so decoding a
// token allocates nothing): forward() and forward_batch() are defined once, on forward_into().
#include <vector>

#include "llm/causal_lm.h"

namespace forge::models {

class BufferedCausalLM : public llm::CausalLM {
 public:
  Tensor forward(const std::vector<int32_t>& tokens, llm::KvCache& cache, bool last_only = true) override;
  Tensor forward_batch(const std::vector<llm::SeqChunk>& chunks) override;
  // Runs `chunks` and writes f32 logits into `logits`: one row per token of every chunk when
  // all_rows, else one row (the last token's) per chunk. Buffers are reused between calls.
  virtual void forward_into(const std::vector<llm::SeqChunk>& chunks, bool all_rows, float* logits) = 0;
};

}  // namespace forge::models
