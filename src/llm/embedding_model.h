#pragma once
// The one interface for sentence-embedding models (BERT-family encoders such as all-MiniLM-L6-v2).
// `forge embed` and the server's /v1/embeddings use only this interface.
//
// CONTRACT (shared by branches llama, serve): do not change signatures; add members.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "text/tokenizer.h"

namespace forge::llm {

class EmbeddingModel {
 public:
  virtual ~EmbeddingModel() = default;
  virtual std::string name() const = 0;
  virtual int64_t dim() const = 0;
  virtual int64_t max_tokens() const = 0;  // longest input in tokens (special tokens included)
  // One vector per text (pooled and, when the model is configured so, L2-normalized). Texts
  // longer than max_tokens() are an error naming the text index (never truncated silently).
  virtual std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) = 0;
  virtual text::TokenizerPtr tokenizer() const = 0;
};

using EmbeddingModelPtr = std::shared_ptr<EmbeddingModel>;

}  // namespace forge::llm
