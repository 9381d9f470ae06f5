#include "models/checkpoint_tokenizer.h"

#include <filesystem>

#include "core/error.h"

namespace forge::models {

text::TokenizerPtr tokenizer_from_gguf(const GgufFile& file) {
  (void)file;  // TODO(llama): BpeTokenizer from branch tok
  return nullptr;
}

text::TokenizerPtr tokenizer_from_hf_dir(const std::string& dir) {
  (void)dir;  // TODO(llama): load_tokenizer_json from branch tok
  return nullptr;
}

}  // namespace forge::models
