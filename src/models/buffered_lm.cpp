#include "models/buffered_lm.h"

namespace forge::models {

Tensor BufferedCausalLM::forward(const std::vector<int32_t>& tokens, llm::KvCache& cache, bool last_only) {
  const std::vector<llm::SeqChunk> chunks{{&tokens, &cache}};
  Tensor out = empty({last_only ? 1 : static_cast<int64_t>(tokens.size()), vocab_size()});
  forward_into(chunks, !last_only, out.data<float>());
  return out;
}

Tensor BufferedCausalLM::forward_batch(const std::vector<llm::SeqChunk>& chunks) {
  Tensor out = empty({static_cast<int64_t>(chunks.size()), vocab_size()});
  forward_into(chunks, false, out.data<float>());
  return out;
}

}  // namespace forge::models
