#include "text/unicode.h"

#include <algorithm>

namespace forge::text {

size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

uint32_t utf8_next(std::string_view text, size_t& pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  const size_t n = utf8_length(lead);
  if (n == 1 || pos + n > text.size()) {
    ++pos;
    return 0xFFFD;
  }
  uint32_t cp = lead & (0x7F >> n);
  for (size_t i = 1; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[pos + i]);
    if ((c & 0xC0) != 0x80) {
      ++pos;
      return 0xFFFD;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  // Reject overlong forms, surrogates and values past U+10FFFF.
  static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    ++pos;
    return 0xFFFD;
  }
  pos += n;
  return cp;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

std::vector<uint32_t> utf8_decode(std::string_view text) {
  std::vector<uint32_t> out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) out.push_back(utf8_next(text, pos));
  return out;
}

bool utf8_valid(std::string_view text) {
  for (size_t pos = 0; pos < text.size();) {
    const size_t before = pos;
    // An invalid sequence decodes to U+FFFD and advances one byte; a real U+FFFD takes three.
    if (utf8_next(text, pos) == 0xFFFD && pos - before == 1) return false;
  }
  return true;
}

namespace {

bool in_ranges(const CodeRange* table, size_t size, uint32_t cp) {
  const CodeRange* end = table + size;
  const CodeRange* it =
      std::upper_bound(table, end, cp, [](uint32_t v, const CodeRange& r) { return v < r.lo; });
  return it != table && cp <= (it - 1)->hi;
}

// Index of cp in a flat mapping (cp, n, mapped...), built once: a sorted list of offsets.
struct FlatMap {
  std::vector<uint32_t> keys;
  std::vector<size_t> offsets;
  FlatMap(const uint32_t* data, size_t size) {
    for (size_t i = 0; i < size;) {
      keys.push_back(data[i]);
      offsets.push_back(i);
      i += 2 + data[i + 1];
    }
  }
  // Offset of cp's entry or SIZE_MAX.
  size_t find(uint32_t cp) const {
    auto it = std::lower_bound(keys.begin(), keys.end(), cp);
    if (it == keys.end() || *it != cp) return SIZE_MAX;
    return offsets[static_cast<size_t>(it - keys.begin())];
  }
};

const FlatMap& lowercase_map() {
  static const FlatMap map(unicode_tables::kLowercase, unicode_tables::kLowercaseSize);
  return map;
}
const FlatMap& nfd_map() {
  static const FlatMap map(unicode_tables::kNfd, unicode_tables::kNfdSize);
  return map;
}

}  // namespace

bool is_letter(uint32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_ranges(unicode_tables::kLetters, unicode_tables::kLettersSize, cp);
}
bool is_number(uint32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(unicode_tables::kNumbers, unicode_tables::kNumbersSize, cp);
}
bool is_whitespace(uint32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D);
  return in_ranges(unicode_tables::kWhitespace, unicode_tables::kWhitespaceSize, cp);
}
bool is_punctuation(uint32_t cp) {
  return in_ranges(unicode_tables::kPunctuation, unicode_tables::kPunctuationSize, cp);
}
bool is_control(uint32_t cp) {
  return in_ranges(unicode_tables::kControl, unicode_tables::kControlSize, cp);
}
bool is_nonspacing_mark(uint32_t cp) {
  return in_ranges(unicode_tables::kNonspacing, unicode_tables::kNonspacingSize, cp);
}

bool is_cjk(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

void append_lowercase(std::vector<uint32_t>& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    return;
  }
  const size_t at = lowercase_map().find(cp);
  if (at == SIZE_MAX) {
    out.push_back(cp);
    return;
  }
  const uint32_t n = unicode_tables::kLowercase[at + 1];
  for (uint32_t i = 0; i < n; ++i) out.push_back(unicode_tables::kLowercase[at + 2 + i]);
}

void append_nfd(std::vector<uint32_t>& out, uint32_t cp) {
  if (cp < 0xC0) {
    out.push_back(cp);
    return;
  }
  if (cp >= 0xAC00 && cp <= 0xD7A3) {  // Hangul syllable: L V (T)
    const uint32_t s = cp - 0xAC00;
    out.push_back(0x1100 + s / (21 * 28));
    out.push_back(0x1161 + (s % (21 * 28)) / 28);
    if (s % 28 != 0) out.push_back(0x11A7 + s % 28);
    return;
  }
  const size_t at = nfd_map().find(cp);
  if (at == SIZE_MAX) {
    out.push_back(cp);
    return;
  }
  const uint32_t n = unicode_tables::kNfd[at + 1];
  for (uint32_t i = 0; i < n; ++i) out.push_back(unicode_tables::kNfd[at + 2 + i]);
}

}  // namespace forge::text
