#include "text/bpe.h"

#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "text/unicode.h"

namespace forge::text {

namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

constexpr size_t kCacheLimit = 200000;

}  // namespace

BpeTokenizer::BpeTokenizer(std::vector<std::string> tokens, const std::vector<std::string>& merges,
                           const std::vector<int32_t>& token_types, const std::string& pre_tokenizer,
                           SpecialTokens special, bool add_bos) {
  FORGE_CHECK(!tokens.empty(), "[tokenizer] BPE vocabulary is empty");
  FORGE_CHECK(token_types.empty() || token_types.size() == tokens.size(),
              "[tokenizer] {} token types for {} tokens", token_types.size(), tokens.size());
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
    FORGE_CHECK(!id || (*id >= 0 && *id < n), "[tokenizer] {} token id {} outside the vocabulary of {}",
                what, id.value_or(0), n);
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
  id_to_token_.assign(static_cast<size_t>(size), "");
  is_added_.assign(static_cast<size_t>(size), 0);
  is_special_.assign(static_cast<size_t>(size), 0);
  for (const auto& [token, id] : config_.vocab) id_to_token_[static_cast<size_t>(id)] = token;
  for (const auto& t : config_.added_tokens) {
    FORGE_CHECK(t.id >= 0, "[tokenizer] added token '{}' has negative id {}", t.content, t.id);
    id_to_token_[static_cast<size_t>(t.id)] = t.content;
    is_added_[static_cast<size_t>(t.id)] = 1;
    is_special_[static_cast<size_t>(t.id)] = t.special ? 1 : 0;
    config_.vocab.emplace(t.content, t.id);
  }
  merge_rank_.clear();
  merge_rank_.reserve(config_.merges.size() * 2);
  for (size_t r = 0; r < config_.merges.size(); ++r) {
    const auto& [left, right] = config_.merges[r];
    auto a = config_.vocab.find(left);
    auto b = config_.vocab.find(right);
    auto merged = config_.vocab.find(left + right);
    FORGE_CHECK(a != config_.vocab.end() && b != config_.vocab.end() && merged != config_.vocab.end(),
                "[tokenizer] merge {} '{} {}' uses a token missing from the vocabulary", r, left,
                right);
    merge_rank_.emplace(pair_key(a->second, b->second),
                        std::make_pair(static_cast<int32_t>(r), merged->second));
  }
  byte_id_.assign(256, -1);
  const auto& table = byte_to_unicode();
  for (int b = 0; b < 256; ++b) {
    auto it = config_.vocab.find(table[static_cast<size_t>(b)]);
    if (it != config_.vocab.end()) byte_id_[static_cast<size_t>(b)] = it->second;
  }
  model_unk_ = -1;
  if (config_.unk_token) {
    auto it = config_.vocab.find(*config_.unk_token);
    FORGE_CHECK(it != config_.vocab.end(), "[tokenizer] unknown token '{}' is not in the vocabulary",
                *config_.unk_token);
    model_unk_ = it->second;
    if (!config_.special.unk) config_.special.unk = model_unk_;
  }
  matcher_ = AddedTokenMatcher(config_.added_tokens);
  cache_.clear();
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
    auto it = config_.vocab.find(bytes_to_byte_level(bytes));
    if (it != config_.vocab.end()) symbols.push_back(it->second);
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
    // Apply the lowest-ranked merge (leftmost among equals) until none applies.
    while (symbols.size() > 1) {
      int32_t best_rank = INT32_MAX;
      int32_t best_id = -1;
      size_t best_at = 0;
      for (size_t i = 0; i + 1 < symbols.size(); ++i) {
        if (symbols[i] < 0 || symbols[i + 1] < 0) continue;
        auto it = merge_rank_.find(pair_key(symbols[i], symbols[i + 1]));
        if (it != merge_rank_.end() && it->second.first < best_rank) {
          best_rank = it->second.first;
          best_id = it->second.second;
          best_at = i;
        }
      }
      if (best_id < 0) break;
      symbols[best_at] = best_id;
      symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(best_at) + 1);
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
    FORGE_CHECK(id >= 0 && id < vocab_size(), "[tokenizer] token id {} outside the vocabulary of {}",
                id, vocab_size());
    const auto index = static_cast<size_t>(id);
    if (is_added_[index]) {
      if (!(skip_special_tokens && is_special_[index])) out += id_to_token_[index];
      continue;
    }
    const std::string& token = id_to_token_[index];
    for (size_t pos = 0; pos < token.size();) {
      const size_t before = pos;
      const int byte = unicode_to_byte(utf8_next(token, pos));
      if (byte >= 0) {
        out += static_cast<char>(byte);
      } else {
        out.append(token, before, pos - before);  // not a byte-level character: keep it
      }
    }
  }
  return out;
}

std::optional<int32_t> BpeTokenizer::token_to_id(std::string_view token) const {
  auto it = config_.vocab.find(std::string(token));
  if (it == config_.vocab.end()) return std::nullopt;
  return it->second;
}

std::string BpeTokenizer::id_to_token(int32_t id) const {
  FORGE_CHECK(id >= 0 && id < vocab_size(), "[tokenizer] token id {} outside the vocabulary of {}",
              id, vocab_size());
  return id_to_token_[static_cast<size_t>(id)];
}

void BpeTokenizer::save(const std::string& path) const {
  std::ofstream file(path, std::ios::binary);
  FORGE_CHECK(file.good(), "[tokenizer] cannot write '{}'", path);
  file << to_json();
  FORGE_CHECK(file.good(), "[tokenizer] failed writing '{}'", path);
}

}  // namespace forge::text
