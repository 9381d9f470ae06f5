#pragma once
// Byte-level BPE (GPT-2 / Llama-3 / SmolLM style): text -> added tokens matched first -> pieces
// by the pre-tokenizer regex -> bytes mapped to printable characters -> merges applied by rank.
// Decoding maps the characters back to bytes, so decode(encode(s)) == s for any UTF-8 s when the
// vocabulary has all 256 byte tokens (trained ones do; bytes a vocabulary lacks are dropped, or
// become the model's unk_token when it has one, exactly as Hugging Face tokenizers does).
// Loads and saves Hugging Face tokenizer.json; builds from GGUF-embedded vocabularies; trains.
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/added_tokens.h"
#include "text/pretokenize.h"
#include "text/token_table.h"
#include "text/tokenizer.h"

namespace forge::text {

struct BpeTrainOptions {
  int32_t vocab_size = 8000;                                    // target, special tokens and the 256 bytes included
  int64_t min_frequency = 2;                                    // stop when the most frequent pair occurs fewer times
  std::vector<std::string> special_tokens = {"<|endoftext|>"};  // ids 0, 1, ... in this order
  PreTokenizer pre_tokenizer = PreTokenizer::kGpt2;
  // Called after every `progress_every` merges and at the end with (vocab size now, target).
  std::function<void(int32_t, int32_t)> progress;
  int32_t progress_every = 1000;
};

class BpeTokenizer : public Tokenizer {
 public:
  // From a vocabulary in byte-level form (tokens[i] is id i's string, "Ġthe"), merges as
  // "left right" strings in rank order, and GGUF token types (1 normal, 2 unknown, 3 control,
  // 4 user-defined, 5 unused, 6 byte; empty = all normal; control and user-defined tokens become
  // added tokens, control ones special). pre_tokenizer is the GGUF tokenizer.ggml.pre value
  // ("gpt2", "llama-bpe", "smollm"). add_bos: encode(..., add_special_tokens=true) prepends BOS.
  BpeTokenizer(std::vector<std::string> tokens, const std::vector<std::string>& merges,
               const std::vector<int32_t>& token_types, const std::string& pre_tokenizer, SpecialTokens special,
               bool add_bos = false);

  // The general form tokenizer.json loading and training use. The constructor turns vocab and
  // merges into compact tables (token_table.h) and empties them.
  struct Config {
    std::unordered_map<std::string, int32_t> vocab;
    std::vector<std::pair<std::string, std::string>> merges;  // rank order
    std::vector<AddedToken> added_tokens;
    PreTokenizer pre_tokenizer = PreTokenizer::kGpt2;
    bool ignore_merges = false;            // a piece already in the vocabulary is one token (Llama-3)
    std::optional<std::string> unk_token;  // bytes without a token become it (else: dropped)
    PostProcessor post_processor;
    SpecialTokens special;
  };
  explicit BpeTokenizer(Config config);

  // Trains on texts (each pre-tokenized separately) to options.vocab_size tokens. Deterministic:
  // ties between equally frequent pairs go to the lexicographically smaller (left, right).
  static std::shared_ptr<BpeTokenizer> train(const std::vector<std::string>& texts,
                                             const BpeTrainOptions& options = {});

  // Hugging Face tokenizer.json: parsed root (`file` names it in errors), a file, the text.
  static std::shared_ptr<BpeTokenizer> from_json(const nlohmann::json& root, const std::string& file);
  static std::shared_ptr<BpeTokenizer> load(const std::string& path);
  std::string to_json() const;
  void save(const std::string& path) const;

  std::string kind() const override { return "bpe"; }
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(id_to_token_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  const SpecialTokens& special_tokens() const override { return config_.special; }

  // Replaces the special-token ids (from tokenizer_config.json, GGUF metadata); add_bos makes
  // encode(..., add_special_tokens=true) prepend BOS when the post-processor adds nothing.
  void set_special_tokens(const SpecialTokens& special, bool add_bos = false);

  PreTokenizer pre_tokenizer() const { return config_.pre_tokenizer; }
  // The merges in rank order, each token spelled as id_to_token spells its id.
  std::vector<std::pair<std::string, std::string>> merges() const;
  const std::vector<AddedToken>& added_tokens() const { return config_.added_tokens; }

 private:
  void build();
  void encode_piece(std::string_view bytes, std::vector<int32_t>& out) const;
  void merge_short(std::vector<int32_t>& symbols) const;
  void merge_long(std::vector<int32_t>& symbols) const;

  Config config_;           // vocab and merges emptied by build()
  StringPool id_to_token_;  // "" for holes
  TokenIndex token_ids_;    // the vocabulary and the added tokens
  MergeTable merges_;
  std::vector<char> is_added_, is_special_;
  std::vector<int32_t> byte_id_;  // id of each byte's single-character token, -1 if absent
  int32_t model_unk_ = -1;        // the model's unk_token (bytes without a token map to it), or -1
  AddedTokenMatcher matcher_;
  // Per-piece cache (bounded; encode may run on several threads).
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace forge::text
