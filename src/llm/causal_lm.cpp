#include "llm/causal_lm.h"

#include <algorithm>

#include "core/error.h"

namespace forge::llm {

Tensor CausalLM::forward_batch(const std::vector<SeqChunk>& chunks) {
  FORGE_CHECK(!chunks.empty(), "[forward_batch] no sequences given");
  const int64_t vocab = vocab_size();
  Tensor out = empty({static_cast<int64_t>(chunks.size()), vocab});
  float* dst = out.data<float>();
  for (size_t i = 0; i < chunks.size(); ++i) {
    const SeqChunk& c = chunks[i];
    FORGE_CHECK(c.tokens != nullptr && c.cache != nullptr, "[forward_batch] chunk {} has no tokens or no cache", i);
    FORGE_CHECK(!c.tokens->empty(), "[forward_batch] chunk {} has no tokens", i);
    Tensor logits = forward(*c.tokens, *c.cache, /*last_only=*/true).contiguous();
    FORGE_CHECK(logits.numel() == vocab, "[forward_batch] forward returned {} for chunk {}, expected [1, {}]",
                shape_str(logits), i, vocab);
    const float* src = logits.data<float>();
    std::copy(src, src + vocab, dst + static_cast<int64_t>(i) * vocab);
  }
  return out;
}

}  // namespace forge::llm
