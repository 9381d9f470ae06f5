#include "text/added_tokens.h"

#include <algorithm>

namespace forge::text {

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens) {
  for (const auto& t : tokens) {
    if (t.content.empty()) continue;
    by_first_byte_[static_cast<unsigned char>(t.content[0])].push_back(tokens_.size());
    tokens_.push_back(t);
  }
  // Longest first, so the first hit at a position is the longest match.
  for (auto& list : by_first_byte_) {
    std::stable_sort(list.begin(), list.end(), [&](size_t a, size_t b) {
      return tokens_[a].content.size() > tokens_[b].content.size();
    });
  }
}

std::vector<AddedTokenMatcher::Segment> AddedTokenMatcher::split(std::string_view text) const {
  std::vector<Segment> out;
  size_t start = 0;  // start of the pending ordinary text
  size_t pos = 0;
  while (pos < text.size()) {
    const auto& candidates = by_first_byte_[static_cast<unsigned char>(text[pos])];
    const AddedToken* hit = nullptr;
    for (size_t index : candidates) {
      const auto& t = tokens_[index];
      if (text.compare(pos, t.content.size(), t.content) == 0) {
        hit = &t;
        break;
      }
    }
    if (hit == nullptr) {
      ++pos;
      continue;
    }
    size_t text_end = pos;
    if (hit->lstrip) {
      while (text_end > start && (text[text_end - 1] == ' ' || text[text_end - 1] == '\t' ||
                                  text[text_end - 1] == '\n' || text[text_end - 1] == '\r')) {
        --text_end;
      }
    }
    if (text_end > start) out.push_back({text.substr(start, text_end - start), -1});
    out.push_back({text.substr(pos, hit->content.size()), hit->id});
    pos += hit->content.size();
    if (hit->rstrip) {
      while (pos < text.size() &&
             (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r')) {
        ++pos;
      }
    }
    start = pos;
  }
  if (start < text.size()) out.push_back({text.substr(start), -1});
  return out;
}

}  // namespace forge::text
