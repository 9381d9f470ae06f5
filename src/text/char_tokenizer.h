#pragma once
// Character-level tokenizer over UTF-8 code points (kind "char"): one id per distinct code
// point seen when fitting, ids in code-point order. Used by the small GPTs trained from scratch.
// Invalid UTF-8 is rejected with an error naming the byte offset. Characters not in the
// vocabulary are an error, or map to "<unk>" when the tokenizer was fitted with one.
// Saved as JSON: {"type": "char", "vocab": ["\n", " ", ...], "unk": null | id}.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "text/tokenizer.h"

namespace forge::text {

// The code points of valid UTF-8 `text` as views into it; throws on invalid UTF-8
// ("[utf8] invalid UTF-8 at byte 3").
std::vector<std::string_view> split_utf8(std::string_view text);

class CharTokenizer : public Tokenizer {
 public:
  // chars: distinct UTF-8 code points (one per id). unk: id of "<unk>" among chars, if any.
  explicit CharTokenizer(std::vector<std::string> chars, std::optional<int32_t> unk = std::nullopt);
  // Vocabulary of every code point in `text` (sorted), plus "<unk>" as id 0 when with_unk.
  static std::shared_ptr<CharTokenizer> fit(std::string_view text, bool with_unk = false);
  static std::shared_ptr<CharTokenizer> load(const std::string& path);
  void save(const std::string& path) const;

  std::string kind() const override { return "char"; }
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const override;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const override;
  std::string decode_next(const std::vector<int32_t>& previous, int32_t id) const override;
  int32_t vocab_size() const override { return static_cast<int32_t>(chars_.size()); }
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  const SpecialTokens& special_tokens() const override { return special_; }

 private:
  std::vector<std::string> chars_;
  std::map<std::string, int32_t, std::less<>> ids_;
  SpecialTokens special_;
};

}  // namespace forge::text
