#include "data/text.h"

#include <cstdint>

#include "core/error.h"
#include "data/gzip.h"

namespace forge {

size_t find_invalid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const uint8_t*>(text.data());
  const size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    const uint8_t c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t min_cp, cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2, min_cp = 0x80, cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, min_cp = 0x800, cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, min_cp = 0x10000, cp = c & 0x07;
    } else {
      return i;  // continuation byte without a lead, or 0xF8..0xFF
    }
    if (i + len > n) return i;
    for (size_t k = 1; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) return i;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min_cp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += len;
  }
  return std::string_view::npos;
}

std::vector<std::string> split_lines(std::string_view text, const std::string& name, const TextOptions& options) {
  std::vector<std::string> lines;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t start = 0;
  int64_t number = 1;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    const size_t next = end == std::string_view::npos ? text.size() : end + 1;
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t bad = find_invalid_utf8(line);
    FORGE_CHECK(bad == std::string_view::npos, "[text] {}:{}:{}: invalid UTF-8 (byte 0x{:02x})", name, number, bad + 1,
                static_cast<unsigned>(static_cast<uint8_t>(line[bad])));
    if (!(options.skip_blank && line.empty())) {
      std::string value(line);
      for (const auto& t : options.transforms) value = t->apply(value);
      lines.push_back(std::move(value));
    }
    start = next;
    ++number;
  }
  return lines;
}

std::vector<std::string> read_lines(const std::string& path, const TextOptions& options) {
  auto source = open_file_decompressed(path);
  return split_lines(std::string_view(reinterpret_cast<const char*>(source->data()), source->size()), path, options);
}

}  // namespace forge
