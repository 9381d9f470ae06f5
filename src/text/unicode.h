#pragma once
// Unicode helpers for the tokenizers: UTF-8 decoding/encoding and the character properties the
// pre-tokenizers and the BERT normalizer need. The property tables are generated from Python's
// unicodedata by tools/text/gen_unicode_tables.py into text/unicode_tables.cpp.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace forge::text {

struct CodeRange {
  uint32_t lo, hi;  // inclusive
};

namespace unicode_tables {
extern const CodeRange kLetters[], kNumbers[], kWhitespace[], kPunctuation[], kControl[],
    kNonspacing[];
extern const size_t kLettersSize, kNumbersSize, kWhitespaceSize, kPunctuationSize, kControlSize,
    kNonspacingSize;
// Flat mappings: code point, n, then n code points.
extern const uint32_t kLowercase[], kNfd[];
extern const size_t kLowercaseSize, kNfdSize;
}  // namespace unicode_tables

// The code point starting at text[pos]; advances pos. Invalid or truncated sequences yield
// U+FFFD and advance one byte (so callers never loop forever on bad input).
uint32_t utf8_next(std::string_view text, size_t& pos);
// Number of bytes of the UTF-8 sequence starting with byte `lead` (1 for invalid leads).
size_t utf8_length(unsigned char lead);
// Appends the UTF-8 encoding of cp.
void utf8_append(std::string& out, uint32_t cp);
// Code points of text (invalid bytes become U+FFFD).
std::vector<uint32_t> utf8_decode(std::string_view text);
// True when text is well-formed UTF-8.
bool utf8_valid(std::string_view text);

bool is_letter(uint32_t cp);       // \p{L}
bool is_number(uint32_t cp);       // \p{N}
bool is_whitespace(uint32_t cp);   // White_Space (\s)
bool is_punctuation(uint32_t cp);  // \p{P}
bool is_control(uint32_t cp);      // \p{C}
bool is_nonspacing_mark(uint32_t cp);  // \p{Mn}
// BERT's CJK ideograph blocks (the ranges Google's BERT and HF's BertNormalizer use).
bool is_cjk(uint32_t cp);
// Appends the full lowercase mapping of cp.
void append_lowercase(std::vector<uint32_t>& out, uint32_t cp);
// Appends the canonical decomposition (NFD) of cp, Hangul syllables included.
void append_nfd(std::vector<uint32_t>& out, uint32_t cp);

}  // namespace forge::text
