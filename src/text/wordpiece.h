#pragma once
// WordPiece (BERT): normalizer (clean text, CJK spacing, strip accents, lowercase) -> split on
// whitespace and punctuation -> greedy longest-match-first subwords with the "##" prefix;
// add_special_tokens wraps the ids in [CLS] ... [SEP]. Loads a BERT vocab.txt or a Hugging Face
// tokenizer.json (BertNormalizer, BertPreTokenizer, WordPiece, Template/BertProcessing).
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "text/added_tokens.h"
#include "text/tokenizer.h"

namespace forge::text {

struct WordPieceOptions {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  bool lowercase = true;
  std::optional<bool> strip_accents;  // default: same as lowercase (BERT's rule)
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  int32_t max_input_chars_per_word = 100;
};

class WordPieceTokenizer : public Tokenizer {
 public:
  // tokens[i] is id i's string. Special tokens ([CLS] [SEP] [PAD] [UNK] [MASK]) are found by
  // name; the bracketed ones in the vocabulary are matched in raw text as added tokens.
  WordPieceTokenizer(std::vector<std::string> tokens, WordPieceOptions options = {},
                     std::vector<AddedToken> added_tokens = {}, std::optional<PostProcessor> post = {});

  // A BERT vocab.txt (one token per line).
  static std::shared_ptr<WordPieceTokenizer> from_vocab_file(const std::string& path,
                                                             WordPieceOptions options = {});
  // Hugging Face tokenizer.json (parsed root; `file` names it in errors).
  static std::shared_ptr<WordPieceTokenizer> from_json(const nlohmann::json& root, const std::string& file);

  std::string kind() const override { return "wordpiece"; }
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const override;
  // Joins tokens with spaces and glues "##" continuations (HF's WordPiece decoder with cleanup).
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(tokens_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  const SpecialTokens& special_tokens() const override { return special_; }

  // The normalized text (for tests and debugging).
  std::string normalize(std::string_view text) const;

 private:
  void encode_word(std::string_view word, std::vector<int32_t>& out) const;

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int32_t> vocab_;
  WordPieceOptions options_;
  std::vector<AddedToken> added_;
  std::vector<char> is_special_;
  AddedTokenMatcher matcher_;
  PostProcessor post_;
  SpecialTokens special_;
  int32_t unk_id_ = -1;
};

}  // namespace forge::text
