#pragma once
// Pre-tokenizers of byte-level BPE, written by hand (std::regex has no \p{L} / \p{N}), and
// GPT-2's byte-to-unicode mapping. Each pre-tokenizer reproduces one regex of the Hugging Face
// `tokenizers` library / llama.cpp exactly:
//   kGpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   kLlama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   kSmolLm  every \p{N} isolated first (HF Digits(individual_digits)), then kGpt2 on the rest
//            (llama.cpp's "smollm", also StarCoder's).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace forge::text {

enum class PreTokenizer { kGpt2, kLlama3, kSmolLm };

// "gpt2", "llama-bpe" (alias "llama3"), "smollm" (alias "starcoder"); throws on other names.
PreTokenizer pre_tokenizer_from_name(std::string_view name);
// The canonical name (the GGUF tokenizer.ggml.pre value).
std::string pre_tokenizer_name(PreTokenizer pre);

// Byte ranges [begin, end) of the pieces of `text` (invalid UTF-8 bytes count as one
// non-letter, non-number character each, so every byte lands in exactly one piece).
std::vector<std::pair<size_t, size_t>> pre_tokenize(PreTokenizer pre, std::string_view text);

// GPT-2's reversible byte <-> printable-character mapping used by byte-level BPE.
// byte_to_unicode()[b] is the UTF-8 string of byte b's character.
const std::vector<std::string>& byte_to_unicode();
// The byte of a byte-level character, or -1 if cp is not one.
int unicode_to_byte(uint32_t cp);
// Byte-level form of raw bytes ("Ġhello" for " hello").
std::string bytes_to_byte_level(std::string_view bytes);

}  // namespace forge::text
