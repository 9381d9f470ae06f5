#include "text/token_table.h"

#include <functional>

#include "core/error.h"

namespace forge::text {

namespace {

// The smallest power of two >= 2 * n (a table at most half full keeps probe runs short).
size_t table_size(size_t n) {
  size_t size = 16;
  while (size < 2 * n) size *= 2;
  return size;
}

// The murmur3 / splitmix64 finalizer over both ids: every input bit reaches the low bits.
size_t pair_hash(int32_t a, int32_t b) {
  uint64_t x = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return static_cast<size_t>(x);
}

}  // namespace

void StringPool::push_back(std::string_view s) {
  FORGE_CHECK(chars_.size() + s.size() <= UINT32_MAX, "[tokenizer] vocabulary text over 4 GiB");
  chars_.append(s);
  ends_.push_back(static_cast<uint32_t>(chars_.size()));
}

void StringPool::shrink_to_fit() {
  chars_.shrink_to_fit();
  ends_.shrink_to_fit();
}

TokenIndex::TokenIndex(const std::unordered_map<std::string, int32_t>& map) {
  ids_.reserve(map.size());
  slots_.assign(table_size(map.size()), 0);
  const size_t mask = slots_.size() - 1;
  for (const auto& [key, id] : map) {
    const auto index = static_cast<uint32_t>(ids_.size());
    keys_.push_back(key);
    ids_.push_back(id);
    size_t at = std::hash<std::string_view>()(key) & mask;
    while (slots_[at] != 0) at = (at + 1) & mask;  // keys of a map are distinct
    slots_[at] = index + 1;
  }
  keys_.shrink_to_fit();
}

std::optional<int32_t> TokenIndex::find(std::string_view key) const {
  if (slots_.empty()) return std::nullopt;
  const size_t mask = slots_.size() - 1;
  for (size_t at = std::hash<std::string_view>()(key) & mask; slots_[at] != 0; at = (at + 1) & mask) {
    const uint32_t index = slots_[at] - 1;
    if (keys_[index] == key) return ids_[index];
  }
  return std::nullopt;
}

void MergeTable::add(int32_t left, int32_t right, int32_t merged) {
  FORGE_CHECK(merges_.size() < INT32_MAX, "[tokenizer] too many merges");
  if (2 * (merges_.size() + 1) > slots_.size()) grow();
  const auto rank = static_cast<uint32_t>(merges_.size());
  merges_.push_back({left, right, merged});
  const size_t mask = slots_.size() - 1;
  size_t at = pair_hash(left, right) & mask;
  for (; slots_[at] != 0; at = (at + 1) & mask) {
    const Merge& m = merges_[slots_[at] - 1];
    if (m.left == left && m.right == right) return;  // listed before with a lower rank
  }
  slots_[at] = rank + 1;
}

int32_t MergeTable::rank(int32_t left, int32_t right) const {
  if (slots_.empty()) return -1;
  const size_t mask = slots_.size() - 1;
  for (size_t at = pair_hash(left, right) & mask; slots_[at] != 0; at = (at + 1) & mask) {
    const uint32_t r = slots_[at] - 1;
    if (merges_[r].left == left && merges_[r].right == right) return static_cast<int32_t>(r);
  }
  return -1;
}

void MergeTable::clear() {
  merges_.clear();
  slots_.clear();
}

void MergeTable::grow() {
  slots_.assign(slots_.empty() ? 16 : slots_.size() * 2, 0);
  const size_t mask = slots_.size() - 1;
  // Reinserted in rank order, so a repeated pair again keeps its first (lowest) rank.
  for (size_t r = 0; r < merges_.size(); ++r) {
    const Merge& m = merges_[r];
    size_t at = pair_hash(m.left, m.right) & mask;
    bool seen = false;
    for (; slots_[at] != 0; at = (at + 1) & mask) {
      const Merge& o = merges_[slots_[at] - 1];
      if (o.left == m.left && o.right == m.right) {
        seen = true;
        break;
      }
    }
    if (!seen) slots_[at] = static_cast<uint32_t>(r) + 1;
  }
}

}  // namespace forge::text
