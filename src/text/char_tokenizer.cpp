#include "text/char_tokenizer.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"

namespace forge::text {

std::vector<std::string_view> split_utf8(std::string_view text) {
  std::vector<std::string_view> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    FORGE_CHECK(len > 0 && i + len <= text.size(), "[utf8] invalid UTF-8 at byte {}", i);
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      FORGE_CHECK((b & 0xC0) == 0x80, "[utf8] invalid UTF-8 at byte {}", i);
      cp = (cp << 6) | (b & 0x3F);
    }
    static constexpr uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
    FORGE_CHECK(cp >= kMin[len] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF),
                "[utf8] invalid UTF-8 at byte {} (overlong or out-of-range code point)", i);
    out.push_back(text.substr(i, len));
    i += len;
  }
  return out;
}

CharTokenizer::CharTokenizer(std::vector<std::string> chars, std::optional<int32_t> unk) : chars_(std::move(chars)) {
  FORGE_CHECK(!chars_.empty(), "[char_tokenizer] the vocabulary is empty");
  for (size_t i = 0; i < chars_.size(); ++i) {
    const bool is_unk = unk && static_cast<size_t>(*unk) == i;
    if (!is_unk) {
      const auto cps = split_utf8(chars_[i]);
      FORGE_CHECK(cps.size() == 1, "[char_tokenizer] vocabulary entry {} ({:?}) is not one code point", i, chars_[i]);
    }
    FORGE_CHECK(ids_.emplace(chars_[i], static_cast<int32_t>(i)).second,
                "[char_tokenizer] vocabulary entry {:?} appears twice", chars_[i]);
  }
  FORGE_CHECK(!unk || (*unk >= 0 && *unk < static_cast<int32_t>(chars_.size())),
              "[char_tokenizer] unk id {} is out of range for {} entries", unk.value_or(-1), chars_.size());
  special_.unk = unk;
}

std::shared_ptr<CharTokenizer> CharTokenizer::fit(std::string_view text, bool with_unk) {
  std::set<std::string_view> distinct;
  for (std::string_view cp : split_utf8(text)) distinct.insert(cp);
  FORGE_CHECK(!distinct.empty() || with_unk, "[char_tokenizer] cannot fit on an empty text");
  std::vector<std::string> chars;
  if (with_unk) chars.emplace_back("<unk>");
  // std::set orders UTF-8 bytewise, which is code-point order.
  for (std::string_view cp : distinct) chars.emplace_back(cp);
  return std::make_shared<CharTokenizer>(std::move(chars), with_unk ? std::optional<int32_t>(0) : std::nullopt);
}

std::vector<int32_t> CharTokenizer::encode(std::string_view text, bool) const {
  std::vector<int32_t> out;
  out.reserve(text.size());
  size_t offset = 0;
  for (std::string_view cp : split_utf8(text)) {
    auto it = ids_.find(cp);
    if (it != ids_.end() && !(special_.unk && it->second == *special_.unk)) {
      out.push_back(it->second);
    } else {
      FORGE_CHECK(special_.unk.has_value(),
                  "[char_tokenizer] character {:?} at byte {} is not in the vocabulary of {} characters", cp, offset,
                  chars_.size());
      out.push_back(*special_.unk);
    }
    offset += cp.size();
  }
  return out;
}

std::string CharTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  std::string out;
  for (int32_t id : ids) {
    if (skip_special_tokens && special_.unk && id == *special_.unk) continue;
    out += id_to_token(id);
  }
  return out;
}

std::string CharTokenizer::decode_next(const std::vector<int32_t>&, int32_t id) const { return id_to_token(id); }

std::optional<int32_t> CharTokenizer::token_to_id(std::string_view token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

std::string CharTokenizer::id_to_token(int32_t id) const {
  FORGE_CHECK(id >= 0 && id < vocab_size(), "[char_tokenizer] id {} is out of range for vocabulary size {}", id,
              vocab_size());
  return chars_[static_cast<size_t>(id)];
}

void CharTokenizer::save(const std::string& path) const {
  nlohmann::json j;
  j["type"] = "char";
  j["vocab"] = chars_;
  j["unk"] = special_.unk ? nlohmann::json(*special_.unk) : nlohmann::json(nullptr);
  std::ofstream f(path);
  FORGE_CHECK(f.good(), "[char_tokenizer] cannot write {}", path);
  f << j.dump(1) << "\n";
  FORGE_CHECK(f.good(), "[char_tokenizer] failed writing {}", path);
}

std::shared_ptr<CharTokenizer> CharTokenizer::load(const std::string& path) {
  std::ifstream f(path);
  FORGE_CHECK(f.good(), "[char_tokenizer] cannot open {}", path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const std::exception& e) {
    fail("[char_tokenizer] {} is not valid JSON: {}", path, e.what());
  }
  FORGE_CHECK(j.is_object() && j.value("type", "") == "char", "[char_tokenizer] {}: \"type\" must be \"char\"", path);
  FORGE_CHECK(j.contains("vocab") && j["vocab"].is_array(), "[char_tokenizer] {}: \"vocab\" must be an array of strings",
              path);
  std::vector<std::string> chars;
  for (const auto& v : j["vocab"]) {
    FORGE_CHECK(v.is_string(), "[char_tokenizer] {}: \"vocab\" must be an array of strings", path);
    chars.push_back(v.get<std::string>());
  }
  std::optional<int32_t> unk;
  if (j.contains("unk") && !j["unk"].is_null()) {
    FORGE_CHECK(j["unk"].is_number_integer(), "[char_tokenizer] {}: \"unk\" must be an integer or null", path);
    unk = j["unk"].get<int32_t>();
  }
  return std::make_shared<CharTokenizer>(std::move(chars), unk);
}

}  // namespace forge::text
