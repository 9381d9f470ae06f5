#include "text/tokenizer.h"

#include <algorithm>

#include "text/unicode.h"

namespace forge::text {

// Default streaming decode: the text that `id` adds after `previous`, holding back a UTF-8
// character until its last byte has arrived (byte-level BPE splits characters across tokens).
// Tokenizers whose pieces decode independently override it with something cheaper.
std::string Tokenizer::decode_next(const std::vector<int32_t>& previous, int32_t id) const {
  // Decode only a short tail: enough tokens to complete any pending multi-byte character.
  const size_t tail = std::min<size_t>(previous.size(), 8);
  std::vector<int32_t> context(previous.end() - static_cast<std::ptrdiff_t>(tail), previous.end());
  const std::string before = decode(context);
  context.push_back(id);
  const std::string after = decode(context);
  // Hold back an incomplete UTF-8 character at the end (it completes with a later token).
  auto complete_prefix = [](const std::string& s) {
    size_t end = s.size();
    size_t k = end;
    while (k > 0 && end - k < 4 && (static_cast<unsigned char>(s[k - 1]) & 0xC0) == 0x80) --k;
    if (k > 0) {
      const size_t need = utf8_length(static_cast<unsigned char>(s[k - 1]));
      if (need > 1 && (end - (k - 1)) < need) end = k - 1;
    }
    return end;
  };
  const size_t old_end = complete_prefix(before);
  const size_t new_end = complete_prefix(after);
  if (new_end <= old_end || after.compare(0, old_end, before, 0, old_end) != 0) return "";
  return after.substr(old_end, new_end - old_end);
}

}  // namespace forge::text
