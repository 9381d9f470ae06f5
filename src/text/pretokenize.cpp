#include "text/pretokenize.h"

#include "core/error.h"
#include "text/unicode.h"

namespace forge::text {

PreTokenizer pre_tokenizer_from_name(std::string_view name) {
  if (name == "gpt2" || name == "gpt-2") return PreTokenizer::kGpt2;
  if (name == "llama-bpe" || name == "llama3" || name == "llama-3") return PreTokenizer::kLlama3;
  if (name == "smollm" || name == "starcoder") return PreTokenizer::kSmolLm;
  fail("[tokenizer] unknown pre-tokenizer '{}' (supported: gpt2, llama-bpe, smollm)", name);
}

std::string pre_tokenizer_name(PreTokenizer pre) {
  switch (pre) {
    case PreTokenizer::kGpt2: return "gpt2";
    case PreTokenizer::kLlama3: return "llama-bpe";
    case PreTokenizer::kSmolLm: return "smollm";
  }
  return "gpt2";
}

namespace {

// Decoded characters with their byte offsets; invalid bytes are kept as 0xFFFFFFFF (a
// character of no class) so that the pieces still cover every byte.
struct Chars {
  std::vector<uint32_t> cp;
  std::vector<size_t> offset;  // offset[i] = byte start of char i; offset[n] = text size
};

constexpr uint32_t kInvalid = 0xFFFFFFFF;

Chars decode(std::string_view text) {
  Chars c;
  c.cp.reserve(text.size());
  c.offset.reserve(text.size() + 1);
  for (size_t pos = 0; pos < text.size();) {
    const size_t before = pos;
    uint32_t cp = utf8_next(text, pos);
    if (cp == 0xFFFD && pos - before == 1) cp = kInvalid;
    c.cp.push_back(cp);
    c.offset.push_back(before);
  }
  c.offset.push_back(text.size());
  return c;
}

bool letter(uint32_t cp) { return cp != kInvalid && is_letter(cp); }
bool number(uint32_t cp) { return cp != kInvalid && is_number(cp); }
bool space(uint32_t cp) { return cp != kInvalid && is_whitespace(cp); }
bool other(uint32_t cp) { return !letter(cp) && !number(cp) && !space(cp); }
uint32_t lower_ascii(uint32_t cp) { return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp; }

// Length of an English contraction ('s 't 're 've 'm 'll 'd) starting at i, or 0.
size_t contraction(const std::vector<uint32_t>& s, size_t i, size_t end, bool ignore_case) {
  if (s[i] != '\'' || i + 1 >= end) return 0;
  auto at = [&](size_t k) { return ignore_case ? lower_ascii(s[k]) : s[k]; };
  const uint32_t a = at(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 < end) {
    const uint32_t b = at(i + 2);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  }
  return 0;
}

// \s+(?!\S)|\s+ at i (s[i] is whitespace): the run, minus its last char when a non-space
// follows and the run is longer than one.
size_t whitespace_tail(const std::vector<uint32_t>& s, size_t i, size_t end) {
  size_t k = i;
  while (k < end && space(s[k])) ++k;
  if (k < end && k - i >= 2) return k - 1 - i;
  return k - i;
}

void gpt2(const std::vector<uint32_t>& s, size_t begin, size_t end,
          std::vector<std::pair<size_t, size_t>>& out) {
  size_t i = begin;
  while (i < end) {
    size_t len = contraction(s, i, end, false);
    if (len == 0) {
      const size_t j = (s[i] == ' ' && i + 1 < end) ? i + 1 : i;  // optional leading space
      size_t k = j;
      if (letter(s[j])) {
        while (k < end && letter(s[k])) ++k;
      } else if (number(s[j])) {
        while (k < end && number(s[k])) ++k;
      } else if (other(s[j])) {
        while (k < end && other(s[k])) ++k;
      }
      if (k > j) {
        len = k - i;
      } else {
        len = whitespace_tail(s, i, end);
      }
    }
    out.emplace_back(i, i + len);
    i += len;
  }
}

void llama3(const std::vector<uint32_t>& s, size_t begin, size_t end,
            std::vector<std::pair<size_t, size_t>>& out) {
  auto newline = [](uint32_t c) { return c == '\r' || c == '\n'; };
  size_t i = begin;
  while (i < end) {
    size_t len = contraction(s, i, end, true);
    if (len == 0) {
      if (letter(s[i]) ||
          (!newline(s[i]) && !letter(s[i]) && !number(s[i]) && i + 1 < end && letter(s[i + 1]))) {
        // [^\r\n\p{L}\p{N}]?\p{L}+
        size_t k = letter(s[i]) ? i : i + 1;
        while (k < end && letter(s[k])) ++k;
        len = k - i;
      } else if (number(s[i])) {  // \p{N}{1,3}
        size_t k = i;
        while (k < end && k - i < 3 && number(s[k])) ++k;
        len = k - i;
      } else {
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        const size_t j = (s[i] == ' ' && i + 1 < end) ? i + 1 : i;
        size_t k = j;
        while (k < end && other(s[k])) ++k;
        if (k > j) {
          while (k < end && newline(s[k])) ++k;
          len = k - i;
        } else {
          // \s*[\r\n]+ : the whitespace run up to and including its last newline.
          size_t run = i;
          size_t last_newline = SIZE_MAX;
          while (run < end && space(s[run])) {
            if (newline(s[run])) last_newline = run;
            ++run;
          }
          if (last_newline != SIZE_MAX) {
            len = last_newline + 1 - i;
          } else {
            len = whitespace_tail(s, i, end);
          }
        }
      }
    }
    out.emplace_back(i, i + len);
    i += len;
  }
}

}  // namespace

std::vector<std::pair<size_t, size_t>> pre_tokenize(PreTokenizer pre, std::string_view text) {
  const Chars c = decode(text);
  const size_t n = c.cp.size();
  std::vector<std::pair<size_t, size_t>> pieces;  // in characters first
  switch (pre) {
    case PreTokenizer::kGpt2: gpt2(c.cp, 0, n, pieces); break;
    case PreTokenizer::kLlama3: llama3(c.cp, 0, n, pieces); break;
    case PreTokenizer::kSmolLm: {
      size_t start = 0;
      for (size_t i = 0; i <= n; ++i) {
        if (i == n || number(c.cp[i])) {
          gpt2(c.cp, start, i, pieces);
          if (i < n) pieces.emplace_back(i, i + 1);
          start = i + 1;
        }
      }
      break;
    }
  }
  for (auto& [b, e] : pieces) {
    b = c.offset[b];
    e = c.offset[e];
  }
  return pieces;
}

namespace {

struct ByteMap {
  std::vector<std::string> to_unicode = std::vector<std::string>(256);
  std::vector<int> to_byte = std::vector<int>(512, -1);  // code points < 512
  ByteMap() {
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      const uint32_t cp = printable ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + extra++);
      utf8_append(to_unicode[static_cast<size_t>(b)], cp);
      to_byte[cp] = b;
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

const std::vector<std::string>& byte_to_unicode() { return byte_map().to_unicode; }

int unicode_to_byte(uint32_t cp) { return cp < 512 ? byte_map().to_byte[cp] : -1; }

std::string bytes_to_byte_level(std::string_view bytes) {
  const auto& table = byte_map().to_unicode;
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) out += table[static_cast<unsigned char>(ch)];
  return out;
}

}  // namespace forge::text
