#pragma once
// Pieces shared by the subword tokenizers: added (special) tokens matched in raw text before any
// splitting, and the post-processor template that add_special_tokens applies.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace forge::text {

// One entry of tokenizer.json's "added_tokens" (GGUF: token types CONTROL and USER_DEFINED).
struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = true;  // skipped by decode(skip_special_tokens=true)
  bool lstrip = false, rstrip = false, single_word = false, normalized = false;
};

// Splits text into runs of ordinary text and added tokens (leftmost, then longest match).
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  explicit AddedTokenMatcher(const std::vector<AddedToken>& tokens);
  struct Segment {
    std::string_view text;  // ordinary text when id < 0
    int32_t id = -1;        // the added token's id
  };
  std::vector<Segment> split(std::string_view text) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;
  std::vector<std::vector<size_t>> by_first_byte_ = std::vector<std::vector<size_t>>(256);
};

// What add_special_tokens adds around a single sequence (TemplateProcessing "single",
// BertProcessing / RobertaProcessing cls+sep, or BOS for GGUF vocabularies).
struct PostProcessor {
  std::vector<int32_t> prefix, suffix;
  // The tokenizer.json "post_processor" value it came from (kept to save it back), or empty.
  std::string json;
  void apply(std::vector<int32_t>& ids) const {
    if (prefix.empty() && suffix.empty()) return;
    ids.insert(ids.begin(), prefix.begin(), prefix.end());
    ids.insert(ids.end(), suffix.begin(), suffix.end());
  }
};

}  // namespace forge::text
