#pragma once
// Compact read-only tables for a subword vocabulary: a 49k-token BPE vocabulary with its 49k merges
// took ~11 MB as std::string maps (a heap node and a string per entry); these flat arrays take
// ~3 MB, which counts in the resident memory of every process that loads a model.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace forge::text {

// Strings by index, all characters in one pool.
class StringPool {
 public:
  void push_back(std::string_view s);
  std::string_view operator[](size_t i) const { return std::string_view(chars_).substr(begin(i), ends_[i] - begin(i)); }
  size_t size() const { return ends_.size(); }
  void shrink_to_fit();

 private:
  size_t begin(size_t i) const { return i == 0 ? 0 : ends_[i - 1]; }
  std::string chars_;
  std::vector<uint32_t> ends_;  // string i is chars_[ends_[i - 1], ends_[i])
};

// A read-only string -> id map: the keys in a StringPool and an open-addressing table (linear
// probing, at most half full) of key indices.
class TokenIndex {
 public:
  TokenIndex() = default;
  explicit TokenIndex(const std::unordered_map<std::string, int32_t>& map);
  std::optional<int32_t> find(std::string_view key) const;
  size_t size() const { return ids_.size(); }

 private:
  StringPool keys_;
  std::vector<int32_t> ids_;     // ids_[i] belongs to keys_[i]
  std::vector<uint32_t> slots_;  // key index + 1; 0 = empty; size a power of two
};

// BPE merges in rank order as token-id pairs, with an open-addressing (left, right) -> rank
// table. A pair listed twice keeps its lowest rank (the later entry never applies).
class MergeTable {
 public:
  struct Merge {
    int32_t left, right, merged;
  };
  // Appends the merge of rank size().
  void add(int32_t left, int32_t right, int32_t merged);
  // The rank of the merge of (left, right), or -1.
  int32_t rank(int32_t left, int32_t right) const;
  const Merge& operator[](size_t rank) const { return merges_[rank]; }
  size_t size() const { return merges_.size(); }
  void clear();
  void shrink_to_fit() { merges_.shrink_to_fit(); }

 private:
  void grow();
  std::vector<Merge> merges_;
  std::vector<uint32_t> slots_;  // rank + 1; 0 = empty; size a power of two, at most half full
};

}  // namespace forge::text
