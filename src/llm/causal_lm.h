#pragma once
// The one interface for autoregressive language models at inference time. Forge-trained GPTs
// (models/gpt) and pretrained checkpoints (Llama family from GGUF / safetensors, GPT-2) implement
// it; generation (llm/generate.h), `forge generate`/`forge chat` and the server's engine loop use
// only this interface.
//
// CONTRACT (shared by branches gpt, llama, serve): do not change signatures; add members.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "text/tokenizer.h"

namespace forge::llm {

// Per-sequence key/value cache. Created by the model (it knows the layer count and shapes);
// memory for max_tokens positions is allocated once, so generating a token allocates nothing.
class KvCache {
 public:
  virtual ~KvCache() = default;
  virtual int64_t size() const = 0;       // positions already processed
  virtual int64_t capacity() const = 0;   // max_tokens given at creation
  virtual void truncate(int64_t n) = 0;   // forget positions >= n (0 = reset for reuse)
};

// One sequence's share of a batched step: new tokens appended to the sequence in `cache`.
struct SeqChunk {
  const std::vector<int32_t>* tokens;  // the new tokens (prefill chunk, or one token when decoding)
  KvCache* cache;
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual std::string name() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t context_length() const = 0;  // maximum positions per sequence
  virtual std::unique_ptr<KvCache> new_cache(int64_t max_tokens) const = 0;
  // Appends `tokens` to the sequence in `cache` and returns f32 logits: [1, vocab] for the last
  // token when last_only, else [tokens.size(), vocab]. No autograd; throws when the cache would
  // exceed its capacity.
  virtual Tensor forward(const std::vector<int32_t>& tokens, KvCache& cache, bool last_only = true) = 0;
  // Several sequences in one step (continuous batching): returns [chunks.size(), vocab], the
  // last-token logits of each chunk. The default calls forward() per chunk; models override it
  // to batch the matmuls.
  virtual Tensor forward_batch(const std::vector<SeqChunk>& chunks);
  virtual text::TokenizerPtr tokenizer() const = 0;
  // Jinja-like chat template source when the checkpoint has one (llm/chat_template.h renders it).
  virtual std::optional<std::string> chat_template() const { return std::nullopt; }
};

using CausalLMPtr = std::shared_ptr<CausalLM>;

}  // namespace forge::llm
