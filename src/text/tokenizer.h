#pragma once
// The one tokenizer interface. Every subword tokenizer (byte-level BPE, WordPiece) implements it,
// and everything that turns text into ids (language models, the server's /tokenize, embeddings)
// goes through it. Keras-style word tokenization for classic text models lives in
// text/keras_tokenizer.h; it produces the same int ids but is fitted differently.
//
// CONTRACT (shared by branches tok, gpt, llama, serve): do not change signatures; add members.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace forge::text {

// Ids of the special tokens a tokenizer knows (absent = not defined).
struct SpecialTokens {
  std::optional<int32_t> bos, eos, pad, unk, cls, sep, mask;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Kind, for messages and metadata: "bpe", "wordpiece", "char".
  virtual std::string kind() const = 0;
  // Token ids of `text`. Special tokens written in the text (added tokens such as
  // "<|im_start|>") are matched first and never split. add_special_tokens adds what the
  // tokenizer's post-processor defines (BERT: [CLS] ... [SEP]; Llama-style: BOS when configured).
  virtual std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = false) const = 0;
  // Text of `ids`. Lossless for byte-level BPE: decode(encode(s)) == s for every valid UTF-8 s.
  virtual std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const = 0;
  // Streaming: the text that appending `id` to `previous` ids adds (may be "" until a
  // multi-byte UTF-8 character is complete). Default: decode(previous+id) minus decode(previous).
  virtual std::string decode_next(const std::vector<int32_t>& previous, int32_t id) const;
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::string id_to_token(int32_t id) const = 0;  // throws on an out-of-range id
  virtual const SpecialTokens& special_tokens() const = 0;
};

using TokenizerPtr = std::shared_ptr<const Tokenizer>;

// Loads a Hugging Face tokenizer.json (model types BPE with a ByteLevel pre-tokenizer, and
// WordPiece with the BERT normalizer/pre-tokenizer). Errors name the file and the JSON path.
// For BPE, a tokenizer_config.json in the same folder supplies bos/eos/pad/unk and add_bos_token.
TokenizerPtr load_tokenizer_json(const std::string& path);

}  // namespace forge::text
