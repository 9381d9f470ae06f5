#include "text/tokenizer.h"

namespace forge::text {

// Default streaming decode: the text that `id` adds after `previous`. Tokenizers whose pieces
// decode independently override it with something cheaper.
std::string Tokenizer::decode_next(const std::vector<int32_t>& previous, int32_t id) const {
  std::vector<int32_t> ids = previous;
  ids.push_back(id);
  const std::string before = decode(previous);
  std::string after = decode(ids);
  if (after.size() >= before.size() && after.compare(0, before.size(), before) == 0) return after.substr(before.size());
  return after;  // the decoding of the prefix changed; give the whole text rather than garbage
}

}  // namespace forge::text
