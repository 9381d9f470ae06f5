#include "models/checkpoint_tokenizer.h"

#include <filesystem>

#include "core/error.h"
#include "text/bpe.h"
#include "text/wordpiece.h"

namespace forge::models {

namespace {

std::optional<int32_t> gguf_id(const GgufFile& f, const char* key, int64_t vocab) {
  if (!f.has(key)) return std::nullopt;
  const int64_t v = f.at(key).as_int(key);
  FORGE_CHECK(v >= 0 && v < vocab, "[tokenizer] {}: {} = {} is outside the vocabulary of {} tokens", f.path(), key, v,
              vocab);
  return static_cast<int32_t>(v);
}

}  // namespace

text::TokenizerPtr tokenizer_from_gguf(const GgufFile& file) {
  FORGE_CHECK(file.has("tokenizer.ggml.model"), "[tokenizer] {}: no tokenizer.ggml.model (the file has no vocabulary)",
              file.path());
  const std::string model = file.at("tokenizer.ggml.model").as_string("tokenizer.ggml.model");
  FORGE_CHECK(model == "gpt2", "[tokenizer] {}: tokenizer model '{}' is not supported (only byte-level BPE 'gpt2')",
              file.path(), model);
  std::vector<std::string> tokens = file.at("tokenizer.ggml.tokens").as_strings("tokenizer.ggml.tokens");
  const std::vector<std::string> merges = file.at("tokenizer.ggml.merges").as_strings("tokenizer.ggml.merges");
  std::vector<int32_t> types;
  if (file.has("tokenizer.ggml.token_type")) {
    for (int64_t t : file.at("tokenizer.ggml.token_type").as_ints("tokenizer.ggml.token_type")) {
      types.push_back(static_cast<int32_t>(t));
    }
    FORGE_CHECK(types.size() == tokens.size(), "[tokenizer] {}: {} token types for {} tokens", file.path(), types.size(),
                tokens.size());
  }
  const auto vocab = static_cast<int64_t>(tokens.size());
  text::SpecialTokens sp;
  sp.bos = gguf_id(file, "tokenizer.ggml.bos_token_id", vocab);
  sp.eos = gguf_id(file, "tokenizer.ggml.eos_token_id", vocab);
  sp.unk = gguf_id(file, "tokenizer.ggml.unknown_token_id", vocab);
  sp.pad = gguf_id(file, "tokenizer.ggml.padding_token_id", vocab);
  const std::string pre = file.get_string("tokenizer.ggml.pre", "gpt2");
  const bool add_bos = file.has("tokenizer.ggml.add_bos_token") &&
                       file.at("tokenizer.ggml.add_bos_token").as_bool("tokenizer.ggml.add_bos_token");
  return std::make_shared<text::BpeTokenizer>(std::move(tokens), merges, types, pre, sp, add_bos);
}

text::TokenizerPtr tokenizer_from_hf_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path root(dir);
  if (fs::exists(root / "tokenizer.json")) return text::load_tokenizer_json((root / "tokenizer.json").string());
  if (fs::exists(root / "vocab.txt")) return text::WordPieceTokenizer::from_vocab_file((root / "vocab.txt").string());
  FORGE_CHECK(false, "[tokenizer] {}: no tokenizer.json or vocab.txt", dir);
  return nullptr;
}

}  // namespace forge::models
