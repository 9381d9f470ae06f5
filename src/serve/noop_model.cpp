#include "serve/noop_model.h"

#include <string>

#include "core/error.h"
#include "text/char_tokenizer.h"

namespace forge::serve {

namespace {

class NoopEmbeddingModel final : public llm::EmbeddingModel {
 public:
  NoopEmbeddingModel() {
    std::string ascii;
    for (char c = ' '; c <= '~'; ++c) ascii += c;
    tokenizer_ = text::CharTokenizer::fit(ascii, /*with_unk=*/true);
  }
  std::string name() const override { return "noop"; }
  int64_t dim() const override { return 1; }
  int64_t max_tokens() const override { return 512; }
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) override {
    for (size_t i = 0; i < texts.size(); ++i) {
      FORGE_CHECK(static_cast<int64_t>(texts[i].size()) <= max_tokens(),
                  "[noop] text {} has {} characters; the maximum is {}", i, texts[i].size(), max_tokens());
    }
    return std::vector<std::vector<float>>(texts.size(), std::vector<float>{0.0f});
  }
  text::TokenizerPtr tokenizer() const override { return tokenizer_; }

 private:
  text::TokenizerPtr tokenizer_;
};

}  // namespace

llm::EmbeddingModelPtr make_noop_embedding_model() { return std::make_shared<NoopEmbeddingModel>(); }

}  // namespace forge::serve
