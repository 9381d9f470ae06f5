// BPE <-> Hugging Face tokenizer.json (model BPE, ByteLevel pre-tokenizer and decoder).
#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "text/bpe.h"
#include "text/tokenizer_json.h"

namespace forge::text {

namespace {

using json_detail::fail_at;
using json_detail::member;

const char* const kLlama3Regex =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

bool flag(const nlohmann::json& j, const char* key, bool fallback) {
  return j.contains(key) && j[key].is_boolean() ? j[key].get<bool>() : fallback;
}

void check_byte_level(const std::string& file, const nlohmann::json& j, const std::string& path, bool use_regex) {
  if (flag(j, "add_prefix_space", false)) {
    fail_at(file, path + ".add_prefix_space", "add_prefix_space=true is not supported");
  }
  if (flag(j, "use_regex", true) != use_regex) {
    fail_at(file, path + ".use_regex", fmt::format("expected {} here", use_regex));
  }
}

PreTokenizer parse_pre_tokenizer(const std::string& file, const nlohmann::json& root) {
  const std::string path = "$.pre_tokenizer";
  const auto& pre = member(file, root, "$", "pre_tokenizer", "object");
  const std::string type = member(file, pre, path, "type", "string").get<std::string>();
  if (type == "ByteLevel") {
    check_byte_level(file, pre, path, true);
    return PreTokenizer::kGpt2;
  }
  if (type == "Sequence") {
    const auto& list = member(file, pre, path, "pretokenizers", "array");
    if (list.size() == 2 && list[0].is_object() && list[1].is_object()) {
      const std::string first = list[0].value("type", "");
      const std::string second = list[1].value("type", "");
      if (first == "Digits" && second == "ByteLevel") {
        if (!flag(list[0], "individual_digits", false)) {
          fail_at(file, path + ".pretokenizers[0].individual_digits", "only individual digits are supported");
        }
        check_byte_level(file, list[1], path + ".pretokenizers[1]", true);
        return PreTokenizer::kSmolLm;
      }
      if (first == "Split" && second == "ByteLevel") {
        const auto& pattern = member(file, list[0], path + ".pretokenizers[0]", "pattern", "object");
        const std::string regex = pattern.value("Regex", "");
        if (regex != kLlama3Regex) {
          fail_at(file, path + ".pretokenizers[0].pattern",
                  fmt::format("unsupported split regex '{}' (supported: Llama-3's)", regex));
        }
        check_byte_level(file, list[1], path + ".pretokenizers[1]", false);
        return PreTokenizer::kLlama3;
      }
    }
    fail_at(file, path,
            "unsupported pre-tokenizer sequence (supported: ByteLevel; Digits+ByteLevel; "
            "Split(Llama-3 regex)+ByteLevel)");
  }
  fail_at(file, path + ".type", fmt::format("unsupported pre-tokenizer '{}' for BPE", type));
}

// Well-known names of special tokens (tokenizer.json itself does not say which is BOS/EOS).
void guess_special(BpeTokenizer::Config& c) {
  auto id = [&](const char* name) -> std::optional<int32_t> {
    auto it = c.vocab.find(name);
    if (it == c.vocab.end()) return std::nullopt;
    return it->second;
  };
  for (const char* name : {"<|begin_of_text|>", "<s>", "<|endoftext|>"}) {
    if (!c.special.bos) c.special.bos = id(name);
  }
  for (const char* name : {"<|end_of_text|>", "</s>", "<|endoftext|>"}) {
    if (!c.special.eos) c.special.eos = id(name);
  }
  for (const char* name : {"<pad>", "<|pad|>"}) {
    if (!c.special.pad) c.special.pad = id(name);
  }
  if (!c.special.unk) c.special.unk = id("<unk>");
}

}  // namespace

std::shared_ptr<BpeTokenizer> BpeTokenizer::from_json(const nlohmann::json& root, const std::string& file) {
  Config c;
  const auto& model = member(file, root, "$", "model", "object");
  const auto& vocab = member(file, model, "$.model", "vocab", "object");
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      fail_at(file, fmt::format("$.model.vocab[\"{}\"]", token),
              fmt::format("expected a non-negative integer id, got {}", id.dump()));
    }
    c.vocab.emplace(token, id.get<int32_t>());
  }
  const auto& merges = member(file, model, "$.model", "merges", "array");
  c.merges.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    const auto& m = merges[i];
    const std::string where = fmt::format("$.model.merges[{}]", i);
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ', 1);
      if (space == std::string::npos) fail_at(file, where, fmt::format("'{}' is not 'left right'", s));
      c.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      c.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      fail_at(file, where, fmt::format("expected \"left right\" or [left, right], got {}", m.dump()));
    }
    const auto& [left, right] = c.merges.back();
    if (!c.vocab.count(left) || !c.vocab.count(right) || !c.vocab.count(left + right)) {
      fail_at(file, where, fmt::format("merge '{} {}' uses a token missing from the vocabulary", left, right));
    }
  }
  if (flag(model, "byte_fallback", false)) fail_at(file, "$.model.byte_fallback", "byte_fallback is not supported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(key) && !model[key].is_null() && model[key] != "") {
      fail_at(file, std::string("$.model.") + key, "not supported for byte-level BPE");
    }
  }
  if (model.contains("dropout") && !model["dropout"].is_null()) {
    fail_at(file, "$.model.dropout", "BPE dropout is not supported");
  }
  c.ignore_merges = flag(model, "ignore_merges", false);
  if (model.contains("unk_token") && model["unk_token"].is_string())
    c.unk_token = model["unk_token"].get<std::string>();
  if (root.contains("normalizer") && !root["normalizer"].is_null()) {
    fail_at(file, "$.normalizer",
            fmt::format("unsupported normalizer for byte-level BPE: {}", root["normalizer"].value("type", "?")));
  }
  c.pre_tokenizer = parse_pre_tokenizer(file, root);
  c.added_tokens = json_detail::parse_added_tokens(file, root);
  for (const auto& t : c.added_tokens) c.vocab.emplace(t.content, t.id);
  c.post_processor = json_detail::parse_post_processor(file, root, c.vocab);
  guess_special(c);
  return std::make_shared<BpeTokenizer>(std::move(c));
}

std::shared_ptr<BpeTokenizer> BpeTokenizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FORGE_CHECK(in.good(), "[tokenizer] cannot open '{}'", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    fail("[tokenizer] {}: not valid JSON: {}", path, e.what());
  }
  return from_json(root, path);
}

std::string BpeTokenizer::to_json() const {
  using ordered = nlohmann::ordered_json;
  ordered root;
  root["version"] = "1.0";
  root["truncation"] = nullptr;
  root["padding"] = nullptr;
  root["added_tokens"] = ordered::parse(json_detail::added_tokens_to_json(config_.added_tokens).dump());
  root["normalizer"] = nullptr;
  auto byte_level = [](bool use_regex) {
    return ordered{
        {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
  };
  switch (config_.pre_tokenizer) {
    case PreTokenizer::kGpt2: root["pre_tokenizer"] = byte_level(true); break;
    case PreTokenizer::kSmolLm:
      root["pre_tokenizer"] = {
          {"type", "Sequence"},
          {"pretokenizers",
           ordered::array({ordered{{"type", "Digits"}, {"individual_digits", true}}, byte_level(true)})}};
      break;
    case PreTokenizer::kLlama3:
      root["pre_tokenizer"] = {{"type", "Sequence"},
                               {"pretokenizers", ordered::array({ordered{{"type", "Split"},
                                                                         {"pattern", {{"Regex", kLlama3Regex}}},
                                                                         {"behavior", "Isolated"},
                                                                         {"invert", false}},
                                                                 byte_level(false)})}};
      break;
  }
  if (!config_.post_processor.json.empty()) {
    root["post_processor"] = ordered::parse(config_.post_processor.json);
  } else if (!config_.post_processor.prefix.empty() || !config_.post_processor.suffix.empty()) {
    ordered single = ordered::array();
    ordered specials = ordered::object();
    auto special = [&](int32_t id) {
      const std::string name(id_to_token_[static_cast<size_t>(id)]);
      single.push_back({{"SpecialToken", {{"id", name}, {"type_id", 0}}}});
      specials[name] = {{"id", name}, {"ids", {id}}, {"tokens", {name}}};
    };
    for (int32_t id : config_.post_processor.prefix) special(id);
    single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    for (int32_t id : config_.post_processor.suffix) special(id);
    ordered pair = single;
    pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});
    root["post_processor"] = {
        {"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
  } else {
    root["post_processor"] = byte_level(true);
  }
  root["decoder"] = byte_level(true);
  ordered model;
  model["type"] = "BPE";
  model["dropout"] = nullptr;
  model["unk_token"] = config_.unk_token ? ordered(*config_.unk_token) : ordered(nullptr);
  model["continuing_subword_prefix"] = nullptr;
  model["end_of_word_suffix"] = nullptr;
  model["fuse_unk"] = false;
  model["byte_fallback"] = false;
  model["ignore_merges"] = config_.ignore_merges;
  ordered vocab = ordered::object();
  for (size_t id = 0; id < id_to_token_.size(); ++id) {
    const std::string token(id_to_token_[id]);
    if (!token.empty() && !vocab.contains(token)) vocab[token] = id;
  }
  model["vocab"] = std::move(vocab);
  ordered merges = ordered::array();
  for (const auto& [left, right] : this->merges()) merges.push_back(ordered::array({left, right}));
  model["merges"] = std::move(merges);
  root["model"] = std::move(model);
  return root.dump(1) + "\n";
}

}  // namespace forge::text
