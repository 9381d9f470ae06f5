#include "text/bpe.h"

#include <algorithm>
#include <fstream>
#include <queue>

#include "core/error.h"
#include "text/unicode.h"

namespace forge::text {

namespace {

constexpr size_t kCacheLimit = 200000;
constexpr size_t kShortPiece = 48;  // symbols; longer pieces use the heap merge

}  // namespace

BpeTokenizer::BpeTokenizer(std::vector<std::string> tokens, const std::vector<std::string>& merges,
                           const std::vector<int32_t>& token_types, const std::string& pre_tokenizer,
                           SpecialTokens special, bool add_bos) {
  FORGE_CHECK(!tokens.empty(), "[tokenizer] BPE vocabulary is empty");
  FORGE_CHECK(token_types.empty() || token_types.size() == tokens.size(), "[tokenizer] {} token types for {} tokens",
              token_types.size(), tokens.size());
  config_.pre_tokenizer = pre_tokenizer_from_name(pre_tokenizer);
  config_.ignore_merges = config_.pre_tokenizer == PreTokenizer::kLlama3;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int32_t type = token_types.empty() ? 1 : token_types[i];
    const auto id = static_cast<int32_t>(i);
    if (type == 3 || type == 4) {
      AddedToken t;
      t.id = id;
      t.content = tokens[i];
      t.special = type == 3;
      config_.added_tokens.push_back(t);
    }
    config_.vocab.emplace(std::move(tokens[i]), id);
  }
  config_.merges.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const std::string& m = merges[r];
    // The separator is the first space not at position 0 (tokens never contain a raw space in
    // byte-level form, but be lenient with a leading one).
    const size_t space = m.find(' ', 1);
    FORGE_CHECK(space != std::string::npos, "[tokenizer] merge {} '{}' is not 'left right'", r, m);
    config_.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
  }
  const auto n = static_cast<int32_t>(tokens.size());
  auto check_id = [&](const std::optional<int32_t>& id, const char* what) {
    FORGE_CHECK(!id || (*id >= 0 && *id < n), "[tokenizer] {} token id {} outside the vocabulary of {}", what,
                id.value_or(0), n);
  };
  check_id(special.bos, "bos");
  check_id(special.eos, "eos");
  check_id(special.pad, "pad");
  check_id(special.unk, "unk");
  config_.special = special;
  if (add_bos && special.bos) config_.post_processor.prefix.push_back(*special.bos);
  build();
}

BpeTokenizer::BpeTokenizer(Config config) : config_(std::move(config)) { build(); }

void BpeTokenizer::build() {
  int32_t size = 0;
  for (const auto& [token, id] : config_.vocab) {
    FORGE_CHECK(id >= 0, "[tokenizer] token '{}' has negative id {}", token, id);
    size = std::max(size, id + 1);
  }
  for (const auto& t : config_.added_tokens) size = std::max(size, t.id + 1);
  std::vector<std::string_view> names(static_cast<size_t>(size));  // into the map's keys (stable nodes)
  is_added_.assign(static_cast<size_t>(size), 0);
  is_special_.assign(static_cast<size_t>(size), 0);
  for (const auto& [token, id] : config_.vocab) names[static_cast<size_t>(id)] = token;
  for (const auto& t : config_.added_tokens) {
    FORGE_CHECK(t.id >= 0, "[tokenizer] added token '{}' has negative id {}", t.content, t.id);
    names[static_cast<size_t>(t.id)] = t.content;
    is_added_[static_cast<size_t>(t.id)] = 1;
    is_special_[static_cast<size_t>(t.id)] = t.special ? 1 : 0;
    config_.vocab.emplace(t.content, t.id);
  }
  id_to_token_ = StringPool();
  for (std::string_view name : names) id_to_token_.push_back(name);
  id_to_token_.shrink_to_fit();
  token_ids_ = TokenIndex(config_.vocab);
  merges_.clear();
  for (size_t r = 0; r < config_.merges.size(); ++r) {
    const auto& [left, right] = config_.merges[r];
    const auto a = token_ids_.find(left);
    const auto b = token_ids_.find(right);
    const auto merged = token_ids_.find(left + right);
    FORGE_CHECK(a && b && merged, "[tokenizer] merge {} '{} {}' uses a token missing from the vocabulary", r, left,
                right);
    merges_.add(*a, *b, *merged);
  }
  merges_.shrink_to_fit();
  byte_id_.assign(256, -1);
  const auto& table = byte_to_unicode();
  for (int b = 0; b < 256; ++b)
    byte_id_[static_cast<size_t>(b)] = token_ids_.find(table[static_cast<size_t>(b)]).value_or(-1);
  model_unk_ = -1;
  if (config_.unk_token) {
    const auto id = token_ids_.find(*config_.unk_token);
    FORGE_CHECK(id.has_value(), "[tokenizer] unknown token '{}' is not in the vocabulary", *config_.unk_token);
    model_unk_ = *id;
    if (!config_.special.unk) config_.special.unk = model_unk_;
  }
  matcher_ = AddedTokenMatcher(config_.added_tokens);
  cache_.clear();
  // Only the compact tables are read from now on.
  std::unordered_map<std::string, int32_t>().swap(config_.vocab);
  std::vector<std::pair<std::string, std::string>>().swap(config_.merges);
}

std::vector<std::pair<std::string, std::string>> BpeTokenizer::merges() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges_.size());
  for (size_t r = 0; r < merges_.size(); ++r) {
    const auto& m = merges_[r];
    out.emplace_back(id_to_token_[static_cast<size_t>(m.left)], id_to_token_[static_cast<size_t>(m.right)]);
  }
  return out;
}

// Applies the lowest-ranked merge (leftmost among equals) until none applies. Negative symbols
// are unknown tokens that never merge. A scan per merge: fastest for short pieces.
void BpeTokenizer::merge_short(std::vector<int32_t>& symbols) const {
  while (symbols.size() > 1) {
    int32_t best_rank = INT32_MAX;
    int32_t best_id = -1;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      if (symbols[i] < 0 || symbols[i + 1] < 0) continue;
      const int32_t rank = merges_.rank(symbols[i], symbols[i + 1]);
      if (rank >= 0 && rank < best_rank) {
        best_rank = rank;
        best_id = merges_[static_cast<size_t>(rank)].merged;
        best_at = i;
      }
    }
    if (best_id < 0) break;
    symbols[best_at] = best_id;
    symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best_at) + 1);
  }
}

// The same result in O(n log n) for long pieces (a 100 kB run without spaces): a heap of
// candidate pairs ordered by (rank, position) over a linked list of symbols; entries made stale
// by earlier merges are skipped when popped.
void BpeTokenizer::merge_long(std::vector<int32_t>& symbols) const {
  const size_t n = symbols.size();
  std::vector<size_t> next(n), prev(n);
  for (size_t i = 0; i < n; ++i) {
    next[i] = i + 1;
    prev[i] = i == 0 ? SIZE_MAX : i - 1;
  }
  struct Candidate {
    int32_t rank;
    size_t at;
    int32_t left, right, merged;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : at > o.at; }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto consider = [&](size_t at) {
    if (at == SIZE_MAX || next[at] >= n) return;
    const int32_t a = symbols[at], b = symbols[next[at]];
    if (a < 0 || b < 0) return;
    const int32_t rank = merges_.rank(a, b);
    if (rank >= 0) heap.push({rank, at, a, b, merges_[static_cast<size_t>(rank)].merged});
  };
  for (size_t i = 0; i + 1 < n; ++i) consider(i);
  std::vector<char> alive(n, 1);
  while (!heap.empty()) {
    const Candidate c = heap.top();
    heap.pop();
    if (!alive[c.at] || symbols[c.at] != c.left || next[c.at] >= n || symbols[next[c.at]] != c.right) continue;
    const size_t gone = next[c.at];
    symbols[c.at] = c.merged;
    alive[gone] = 0;
    next[c.at] = next[gone];
    if (next[gone] < n) prev[next[gone]] = c.at;
    consider(prev[c.at]);
    consider(c.at);
  }
  std::vector<int32_t> out;
  for (size_t i = 0; i < n; i = next[i]) out.push_back(symbols[i]);
  symbols = std::move(out);
}

void BpeTokenizer::encode_piece(std::string_view bytes, std::vector<int32_t>& out) const {
  if (bytes.empty()) return;
  std::string key(bytes);
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> symbols;
  if (config_.ignore_merges) {
    if (const auto id = token_ids_.find(bytes_to_byte_level(bytes))) symbols.push_back(*id);
  }
  if (symbols.empty()) {
    symbols.reserve(bytes.size());
    for (char ch : bytes) {
      const int32_t id = byte_id_[static_cast<unsigned char>(ch)];
      if (id >= 0) {
        symbols.push_back(id);
      } else if (model_unk_ >= 0) {
        symbols.push_back(-1 - model_unk_);  // one unknown token per missing byte (no fusing)
      }
      // Otherwise the byte is dropped, as Hugging Face tokenizers and llama.cpp do for
      // vocabularies that lack some byte tokens (SmolLM2 has no token for 21 of the 256 bytes).
    }
    if (symbols.size() <= kShortPiece) {
      merge_short(symbols);
    } else {
      merge_long(symbols);
    }
    for (auto& s : symbols) {
      if (s < 0) s = -1 - s;
    }
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kCacheLimit) cache_.clear();
  cache_.emplace(std::move(key), std::move(symbols));
}

std::vector<int32_t> BpeTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  for (const auto& segment : matcher_.split(text)) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    for (const auto& [b, e] : pre_tokenize(config_.pre_tokenizer, segment.text)) {
      encode_piece(segment.text.substr(b, e - b), ids);
    }
  }
  if (add_special_tokens) config_.post_processor.apply(ids);
  return ids;
}

std::string BpeTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string out;
  for (int32_t id : ids) {
    FORGE_CHECK(id >= 0 && id < vocab_size(), "[tokenizer] token id {} outside the vocabulary of {}", id, vocab_size());
    const auto index = static_cast<size_t>(id);
    if (is_added_[index]) {
      if (!(skip_special_tokens && is_special_[index])) out += id_to_token_[index];
      continue;
    }
    const std::string_view token = id_to_token_[index];
    for (size_t pos = 0; pos < token.size();) {
      const size_t before = pos;
      const int byte = unicode_to_byte(utf8_next(token, pos));
      if (byte >= 0) {
        out += static_cast<char>(byte);
      } else {
        out.append(token.substr(before, pos - before));  // not a byte-level character: keep it
      }
    }
  }
  return out;
}

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token) const { return token_ids_.find(token); }

std::string BpeTokenizer::id_to_token(int32_t id) const {
  FORGE_CHECK(id >= 0 && id < vocab_size(), "[tokenizer] token id {} outside the vocabulary of {}", id, vocab_size());
  return std::string(id_to_token_[static_cast<size_t>(id)]);
}

void BpeTokenizer::set_special_tokens(const SpecialTokens& special, bool add_bos) {
  for (auto id : {special.bos, special.eos, special.pad, special.unk, special.cls, special.sep, special.mask}) {
    FORGE_CHECK(!id || (*id >= 0 && *id < vocab_size()), "[tokenizer] special token id {} outside the vocabulary of {}",
                id.value_or(0), vocab_size());
  }
  config_.special = special;
  auto& post = config_.post_processor;
  if (add_bos && special.bos && post.prefix.empty() && post.suffix.empty()) {
    post.prefix.push_back(*special.bos);
    post.json.clear();
  }
}

void BpeTokenizer::save(const std::string& path) const {
  std::ofstream file(path, std::ios::binary);
  FORGE_CHECK(file.good(), "[tokenizer] cannot write '{}'", path);
  file << to_json();
  FORGE_CHECK(file.good(), "[tokenizer] failed writing '{}'", path);
}

}  // namespace forge::text
