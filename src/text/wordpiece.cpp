#include "text/wordpiece.h"

#include <fmt/format.h>

#include <cstring>
#include <fstream>

#include "core/error.h"
#include "text/tokenizer_json.h"
#include "text/unicode.h"

namespace forge::text {

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> tokens, WordPieceOptions options,
                                       std::vector<AddedToken> added_tokens,
                                       std::optional<PostProcessor> post)
    : tokens_(std::move(tokens)), options_(std::move(options)), added_(std::move(added_tokens)) {
  FORGE_CHECK(!tokens_.empty(), "[tokenizer] WordPiece vocabulary is empty");
  FORGE_CHECK(options_.max_input_chars_per_word > 0,
              "[tokenizer] max_input_chars_per_word must be positive, got {}",
              options_.max_input_chars_per_word);
  for (size_t i = 0; i < tokens_.size(); ++i) vocab_.emplace(tokens_[i], static_cast<int32_t>(i));
  auto find = [&](const char* name) -> std::optional<int32_t> {
    auto it = vocab_.find(name);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
  };
  if (added_.empty()) {
    for (const char* name : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
      if (auto id = find(name)) added_.push_back(AddedToken{*id, name});
    }
  }
  is_special_.assign(tokens_.size(), 0);
  for (const auto& t : added_) {
    FORGE_CHECK(t.id >= 0 && static_cast<size_t>(t.id) < tokens_.size(),
                "[tokenizer] added token '{}' id {} outside the vocabulary of {}", t.content, t.id,
                tokens_.size());
    is_special_[static_cast<size_t>(t.id)] = t.special ? 1 : 0;
  }
  matcher_ = AddedTokenMatcher(added_);
  special_.pad = find("[PAD]");
  special_.unk = find(options_.unk_token.c_str());
  special_.cls = find("[CLS]");
  special_.sep = find("[SEP]");
  special_.mask = find("[MASK]");
  special_.bos = special_.cls;
  special_.eos = special_.sep;
  FORGE_CHECK(special_.unk.has_value(), "[tokenizer] WordPiece vocabulary has no unknown token '{}'",
              options_.unk_token);
  unk_id_ = *special_.unk;
  if (post) {
    post_ = std::move(*post);
  } else if (special_.cls && special_.sep) {
    post_.prefix = {*special_.cls};
    post_.suffix = {*special_.sep};
  }
}

std::shared_ptr<WordPieceTokenizer> WordPieceTokenizer::from_vocab_file(const std::string& path,
                                                                        WordPieceOptions options) {
  std::ifstream in(path, std::ios::binary);
  FORGE_CHECK(in.good(), "[tokenizer] cannot open '{}'", path);
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    tokens.push_back(line);
  }
  FORGE_CHECK(!tokens.empty(), "[tokenizer] {}: the vocabulary file is empty", path);
  return std::make_shared<WordPieceTokenizer>(std::move(tokens), std::move(options));
}

std::string WordPieceTokenizer::normalize(std::string_view text) const {
  std::vector<uint32_t> cps;
  cps.reserve(text.size());
  const bool strip = options_.strip_accents.value_or(options_.lowercase);
  std::vector<uint32_t> tmp;
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp = utf8_next(text, pos);
    if (options_.clean_text) {
      if (cp == 0 || cp == 0xFFFD) continue;
      if (cp != '\t' && cp != '\n' && cp != '\r' && is_control(cp)) continue;
      if (is_whitespace(cp)) cp = ' ';
    }
    if (options_.handle_chinese_chars && is_cjk(cp)) {
      cps.push_back(' ');
      cps.push_back(cp);
      cps.push_back(' ');
      continue;
    }
    tmp.clear();
    if (strip) {
      std::vector<uint32_t> decomposed;
      append_nfd(decomposed, cp);
      for (uint32_t c : decomposed) {
        if (!is_nonspacing_mark(c)) tmp.push_back(c);
      }
    } else {
      tmp.push_back(cp);
    }
    for (uint32_t c : tmp) {
      if (options_.lowercase) {
        append_lowercase(cps, c);
      } else {
        cps.push_back(c);
      }
    }
  }
  std::string out;
  out.reserve(cps.size());
  for (uint32_t c : cps) utf8_append(out, c);
  return out;
}

void WordPieceTokenizer::encode_word(std::string_view word, std::vector<int32_t>& out) const {
  // Character boundaries of the word.
  std::vector<size_t> bounds;
  for (size_t pos = 0; pos < word.size();) {
    bounds.push_back(pos);
    utf8_next(word, pos);
  }
  bounds.push_back(word.size());
  const size_t n = bounds.size() - 1;
  if (n > static_cast<size_t>(options_.max_input_chars_per_word)) {
    out.push_back(unk_id_);
    return;
  }
  std::vector<int32_t> pieces;
  std::string candidate;
  size_t start = 0;
  while (start < n) {
    size_t end = n;
    int32_t found = -1;
    while (end > start) {
      candidate.clear();
      if (start > 0) candidate = options_.continuing_subword_prefix;
      candidate.append(word.substr(bounds[start], bounds[end] - bounds[start]));
      auto it = vocab_.find(candidate);
      if (it != vocab_.end()) {
        found = it->second;
        break;
      }
      --end;
    }
    if (found < 0) {
      out.push_back(unk_id_);
      return;
    }
    pieces.push_back(found);
    start = end;
  }
  out.insert(out.end(), pieces.begin(), pieces.end());
}

std::vector<int32_t> WordPieceTokenizer::encode(std::string_view text, bool add_special_tokens) const {
  std::vector<int32_t> ids;
  for (const auto& segment : matcher_.split(text)) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
      continue;
    }
    const std::string normalized = normalize(segment.text);
    // BertPreTokenizer: split on whitespace (dropped) and punctuation (kept alone).
    size_t word_start = 0;
    std::string_view s = normalized;
    auto flush = [&](size_t end) {
      if (end > word_start) encode_word(s.substr(word_start, end - word_start), ids);
    };
    for (size_t pos = 0; pos < s.size();) {
      const size_t before = pos;
      const uint32_t cp = utf8_next(s, pos);
      const bool punct = (cp < 0x80 && cp > 0x20 && cp < 0x7F && !((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') &&
                          !(cp >= '0' && cp <= '9')) ||
                         is_punctuation(cp);
      if (is_whitespace(cp)) {
        flush(before);
        word_start = pos;
      } else if (punct) {
        flush(before);
        encode_word(s.substr(before, pos - before), ids);
        word_start = pos;
      }
    }
    flush(s.size());
  }
  if (add_special_tokens) post_.apply(ids);
  return ids;
}

std::string WordPieceTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    FORGE_CHECK(id >= 0 && id < vocab_size(), "[tokenizer] token id {} outside the vocabulary of {}",
                id, vocab_size());
    if (skip_special_tokens && is_special_[static_cast<size_t>(id)]) continue;
    const std::string& raw = tokens_[static_cast<size_t>(id)];
    const auto& prefix = options_.continuing_subword_prefix;
    std::string token;
    if (first) {
      token = raw;
    } else if (!prefix.empty() && raw.compare(0, prefix.size(), prefix) == 0) {
      token = raw.substr(prefix.size());
    } else {
      token = " " + raw;
    }
    first = false;
    // HF's WordPiece decoder cleanup: no space before punctuation and English contractions.
    static const std::pair<std::string_view, std::string_view> kCleanup[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kCleanup) {
      if (token.find(from) == std::string::npos) continue;
      std::string replaced;
      size_t at = 0;
      for (size_t hit = token.find(from); hit != std::string::npos; hit = token.find(from, at)) {
        replaced.append(token, at, hit - at);
        replaced.append(to);
        at = hit + from.size();
      }
      replaced.append(token, at, std::string::npos);
      token = std::move(replaced);
    }
    out += token;
  }
  return out;
}

std::optional<int32_t> WordPieceTokenizer::token_to_id(std::string_view token) const {
  auto it = vocab_.find(std::string(token));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

std::string WordPieceTokenizer::id_to_token(int32_t id) const {
  FORGE_CHECK(id >= 0 && id < vocab_size(), "[tokenizer] token id {} outside the vocabulary of {}",
              id, vocab_size());
  return tokens_[static_cast<size_t>(id)];
}

std::shared_ptr<WordPieceTokenizer> WordPieceTokenizer::from_json(const nlohmann::json& root,
                                                                  const std::string& file) {
  using json_detail::fail_at;
  using json_detail::member;
  WordPieceOptions options;
  const auto& model = member(file, root, "$", "model", "object");
  const auto& vocab = member(file, model, "$.model", "vocab", "object");
  std::vector<std::string> tokens(vocab.size());
  std::vector<char> seen(vocab.size(), 0);
  for (const auto& [token, id] : vocab.items()) {
    const std::string where = fmt::format("$.model.vocab[\"{}\"]", token);
    if (!id.is_number_integer() || id.get<int64_t>() < 0 ||
        id.get<int64_t>() >= static_cast<int64_t>(vocab.size())) {
      fail_at(file, where, fmt::format("expected an id in [0, {}), got {}", vocab.size(), id.dump()));
    }
    const auto index = id.get<size_t>();
    if (seen[index]) fail_at(file, where, fmt::format("id {} is used twice", index));
    seen[index] = 1;
    tokens[index] = token;
  }
  if (model.contains("unk_token")) options.unk_token = member(file, model, "$.model", "unk_token", "string").get<std::string>();
  if (model.contains("continuing_subword_prefix")) {
    options.continuing_subword_prefix =
        member(file, model, "$.model", "continuing_subword_prefix", "string").get<std::string>();
  }
  if (model.contains("max_input_chars_per_word")) {
    const auto& m = member(file, model, "$.model", "max_input_chars_per_word", "number");
    if (!m.is_number_integer() || m.get<int64_t>() <= 0) {
      fail_at(file, "$.model.max_input_chars_per_word", fmt::format("expected a positive integer, got {}", m.dump()));
    }
    options.max_input_chars_per_word = static_cast<int32_t>(std::min<int64_t>(m.get<int64_t>(), INT32_MAX));
  }
  options.clean_text = options.handle_chinese_chars = options.lowercase = false;
  if (root.contains("normalizer") && !root["normalizer"].is_null()) {
    const auto& n = root["normalizer"];
    const std::string type = member(file, n, "$.normalizer", "type", "string").get<std::string>();
    if (type != "BertNormalizer") {
      fail_at(file, "$.normalizer.type", fmt::format("unsupported normalizer '{}' (supported: BertNormalizer)", type));
    }
    auto flag = [&](const char* key, bool fallback) {
      if (!n.contains(key) || n[key].is_null()) return fallback;
      return member(file, n, "$.normalizer", key, "boolean").get<bool>();
    };
    options.clean_text = flag("clean_text", true);
    options.handle_chinese_chars = flag("handle_chinese_chars", true);
    options.lowercase = flag("lowercase", true);
    if (n.contains("strip_accents") && !n["strip_accents"].is_null()) {
      options.strip_accents = member(file, n, "$.normalizer", "strip_accents", "boolean").get<bool>();
    }
  }
  if (root.contains("pre_tokenizer") && !root["pre_tokenizer"].is_null()) {
    const std::string type =
        member(file, root["pre_tokenizer"], "$.pre_tokenizer", "type", "string").get<std::string>();
    if (type != "BertPreTokenizer") {
      fail_at(file, "$.pre_tokenizer.type",
              fmt::format("unsupported pre-tokenizer '{}' for WordPiece (supported: BertPreTokenizer)", type));
    }
  }
  auto added = json_detail::parse_added_tokens(file, root);
  for (const auto& t : added) {
    if (t.id < 0 || static_cast<size_t>(t.id) >= tokens.size()) {
      fail_at(file, "$.added_tokens", fmt::format("token '{}' has id {} outside the vocabulary of {}",
                                                  t.content, t.id, tokens.size()));
    }
  }
  std::unordered_map<std::string, int32_t> index;
  for (size_t i = 0; i < tokens.size(); ++i) index.emplace(tokens[i], static_cast<int32_t>(i));
  auto post = json_detail::parse_post_processor(file, root, index);
  if (!index.count(options.unk_token)) {
    fail_at(file, "$.model.unk_token", fmt::format("'{}' is not in the vocabulary", options.unk_token));
  }
  return std::make_shared<WordPieceTokenizer>(std::move(tokens), std::move(options), std::move(added),
                                              std::move(post));
}

}  // namespace forge::text
