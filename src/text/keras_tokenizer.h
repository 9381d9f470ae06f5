#pragma once
// Keras-style word tokenization for classic text models (keras.preprocessing.text.Tokenizer and
// keras.preprocessing.sequence.pad_sequences), following Keras's algorithm exactly:
//   - words: lower-case (when `lower`), every character of `filters` becomes `split`, split on
//     `split`, drop empty pieces; char_level: every UTF-8 character is a token;
//   - fit_on_texts counts words; word_index ranks them by count, ties in first-seen order,
//     starting at 1 (0 is reserved for padding), with oov_token (if set) at index 1;
//   - texts_to_sequences keeps only ids < num_words (when num_words > 0); other and unknown
//     words become the oov_token's id, or are dropped when there is no oov_token.
// Lower-casing covers ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic letters (Python's
// str.lower() maps a few more rare scripts). Text must be UTF-8; invalid bytes are rejected
// with "[keras_tokenizer] text 3 is not valid UTF-8 (byte 0xff at offset 5)".
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace forge::text {

struct KerasTokenizerOptions {
  int64_t num_words = 0;  // 0 = keep every word (Keras None); else ids >= num_words are dropped/OOV
  std::string filters = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";  // characters replaced by `split`
  bool lower = true;
  std::string split = " ";
  bool char_level = false;
  std::optional<std::string> oov_token = std::nullopt;  // e.g. "<OOV>"; none = unknown words are dropped
};

class KerasTokenizer {
 public:
  explicit KerasTokenizer(KerasTokenizerOptions options = {});

  // Updates the word counts with `texts` and rebuilds word_index / index_word.
  void fit_on_texts(const std::vector<std::string>& texts);
  // Word ids of each text (see the file comment for num_words and OOV).
  std::vector<std::vector<int64_t>> texts_to_sequences(const std::vector<std::string>& texts) const;
  // Words of each id sequence joined by " " (Keras sequences_to_texts).
  std::vector<std::string> sequences_to_texts(const std::vector<std::vector<int64_t>>& sequences) const;
  // The tokens of one text before indexing (Keras text_to_word_sequence, or characters).
  std::vector<std::string> tokenize(const std::string& text) const;

  const KerasTokenizerOptions& options() const { return options_; }
  int64_t document_count() const { return document_count_; }
  // Word counts in first-seen order.
  const std::vector<std::pair<std::string, int64_t>>& word_counts() const { return word_counts_; }
  // Number of documents each word occurs in, in first-seen order.
  std::vector<std::pair<std::string, int64_t>> word_docs() const;
  const std::unordered_map<std::string, int64_t>& word_index() const { return word_index_; }
  const std::map<int64_t, std::string>& index_word() const { return index_word_; }
  // Size of the id space the sequences use: min(num_words, len(word_index) + 1), or
  // len(word_index) + 1 when num_words is 0; an Embedding needs at least this many rows.
  int64_t vocab_size() const;

  // Keras's Tokenizer.to_json(): {"class_name": "Tokenizer", "config": {..., "word_counts":
  // "<json string>", "word_index": "<json string>", ...}} (loads in keras tokenizer_from_json).
  std::string to_json() const;
  // Reads what to_json() (or Keras) wrote; throws "[keras_tokenizer] ..." on malformed input.
  static KerasTokenizer from_json(const std::string& json);

 private:
  void rebuild_index();
  KerasTokenizerOptions options_;
  int64_t document_count_ = 0;
  std::vector<std::pair<std::string, int64_t>> word_counts_;
  std::unordered_map<std::string, size_t> count_pos_;
  std::vector<std::pair<std::string, int64_t>> word_docs_;
  std::unordered_map<std::string, size_t> docs_pos_;
  std::unordered_map<std::string, int64_t> word_index_;
  std::map<int64_t, std::string> index_word_;
};

struct PadOptions {
  int64_t maxlen = -1;            // -1 = the longest sequence
  std::string padding = "pre";    // "pre" | "post": where the padding goes
  std::string truncating = "pre"; // "pre" | "post": which end loses ids when longer than maxlen
  int64_t value = 0;              // padding id
};

// Keras pad_sequences: an int64 tensor [num_sequences, maxlen].
Tensor pad_sequences(const std::vector<std::vector<int64_t>>& sequences, const PadOptions& options = {});

}  // namespace forge::text
