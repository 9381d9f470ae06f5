// Loading Hugging Face tokenizer.json files: the dispatcher load_tokenizer_json and the parts
// shared by both model types. Model-specific parsing lives in bpe_json.cpp / wordpiece.cpp.
#include "text/tokenizer_json.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "core/error.h"
#include "text/bpe.h"
#include "text/wordpiece.h"

namespace forge::text {

namespace json_detail {

void fail_at(const std::string& file, const std::string& path, const std::string& message) {
  fail("[tokenizer] {}: {}: {}", file, path, message);
}

bool has_type(const nlohmann::json& j, const char* type) {
  const std::string t = type;
  if (t == "object") return j.is_object();
  if (t == "array") return j.is_array();
  if (t == "string") return j.is_string();
  if (t == "number") return j.is_number();
  if (t == "boolean") return j.is_boolean();
  return false;
}

const nlohmann::json& member(const std::string& file, const nlohmann::json& j,
                             const std::string& path, const char* key, const char* type) {
  const std::string where = path + "." + key;
  if (!j.is_object() || !j.contains(key)) fail_at(file, where, "missing");
  const auto& v = j.at(key);
  if (!has_type(v, type)) fail_at(file, where, fmt::format("expected {}, got {}", type, v.type_name()));
  return v;
}

std::vector<AddedToken> parse_added_tokens(const std::string& file, const nlohmann::json& root) {
  std::vector<AddedToken> out;
  if (!root.contains("added_tokens") || root["added_tokens"].is_null()) return out;
  const auto& list = member(file, root, "$", "added_tokens", "array");
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = fmt::format("$.added_tokens[{}]", i);
    const auto& item = list[i];
    if (!item.is_object()) fail_at(file, path, "expected object");
    AddedToken t;
    const auto& id = member(file, item, path, "id", "number");
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX) {
      fail_at(file, path + ".id", fmt::format("expected a non-negative integer, got {}", id.dump()));
    }
    t.id = id.get<int32_t>();
    t.content = member(file, item, path, "content", "string").get<std::string>();
    auto flag = [&](const char* key, bool fallback) {
      if (!item.contains(key)) return fallback;
      return member(file, item, path, key, "boolean").get<bool>();
    };
    t.special = flag("special", true);
    t.lstrip = flag("lstrip", false);
    t.rstrip = flag("rstrip", false);
    t.single_word = flag("single_word", false);
    t.normalized = flag("normalized", false);
    out.push_back(std::move(t));
  }
  return out;
}

nlohmann::json added_tokens_to_json(const std::vector<AddedToken>& tokens) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& t : tokens) {
    list.push_back({{"id", t.id},
                    {"content", t.content},
                    {"single_word", t.single_word},
                    {"lstrip", t.lstrip},
                    {"rstrip", t.rstrip},
                    {"normalized", t.normalized},
                    {"special", t.special}});
  }
  return list;
}

namespace {

int32_t resolve(const std::string& file, const std::string& path, const std::string& token,
                const std::unordered_map<std::string, int32_t>& vocab) {
  auto it = vocab.find(token);
  if (it == vocab.end()) fail_at(file, path, fmt::format("token '{}' is not in the vocabulary", token));
  return it->second;
}

void parse_one(const std::string& file, const nlohmann::json& pp, const std::string& path,
               const std::unordered_map<std::string, int32_t>& vocab, PostProcessor& out) {
  const std::string type = member(file, pp, path, "type", "string").get<std::string>();
  if (type == "ByteLevel") return;  // offsets only
  if (type == "Sequence") {
    const auto& list = member(file, pp, path, "processors", "array");
    for (size_t i = 0; i < list.size(); ++i) {
      parse_one(file, list[i], fmt::format("{}.processors[{}]", path, i), vocab, out);
    }
    return;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    for (const char* key : {"cls", "sep"}) {
      const auto& pair = member(file, pp, path, key, "array");
      const std::string where = path + "." + key;
      if (pair.size() != 2 || !pair[0].is_string() || !pair[1].is_number_integer()) {
        fail_at(file, where, "expected [token, id]");
      }
      (std::string(key) == "cls" ? out.prefix : out.suffix).push_back(pair[1].get<int32_t>());
    }
    return;
  }
  if (type == "TemplateProcessing") {
    const auto& single = member(file, pp, path, "single", "array");
    bool seen_sequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      const std::string where = fmt::format("{}.single[{}]", path, i);
      const auto& item = single[i];
      if (item.is_object() && item.contains("SpecialToken")) {
        const std::string name =
            member(file, item["SpecialToken"], where + ".SpecialToken", "id", "string").get<std::string>();
        // The special_tokens map gives the ids; fall back to the vocabulary.
        int32_t id = -1;
        if (pp.contains("special_tokens") && pp["special_tokens"].contains(name)) {
          const auto& ids = pp["special_tokens"][name]["ids"];
          if (ids.is_array() && ids.size() == 1 && ids[0].is_number_integer()) id = ids[0].get<int32_t>();
        }
        if (id < 0) id = resolve(file, where, name, vocab);
        (seen_sequence ? out.suffix : out.prefix).push_back(id);
      } else if (item.is_object() && item.contains("Sequence")) {
        seen_sequence = true;
      } else {
        fail_at(file, where, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
      }
    }
    return;
  }
  fail_at(file, path + ".type", fmt::format("unsupported post-processor '{}'", type));
}

}  // namespace

PostProcessor parse_post_processor(const std::string& file, const nlohmann::json& root,
                                   const std::unordered_map<std::string, int32_t>& vocab) {
  PostProcessor out;
  if (!root.contains("post_processor") || root["post_processor"].is_null()) return out;
  parse_one(file, root["post_processor"], "$.post_processor", vocab, out);
  out.json = root["post_processor"].dump();
  return out;
}

}  // namespace json_detail

TokenizerPtr load_tokenizer_json(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  FORGE_CHECK(file.good(), "[tokenizer] cannot open '{}'", path);
  std::stringstream buffer;
  buffer << file.rdbuf();
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::parse_error& e) {
    fail("[tokenizer] {}: not valid JSON: {}", path, e.what());
  }
  if (!root.is_object()) json_detail::fail_at(path, "$", "expected an object");
  const auto& model = json_detail::member(path, root, "$", "model", "object");
  std::string type;
  if (model.contains("type")) {
    type = json_detail::member(path, model, "$.model", "type", "string").get<std::string>();
  } else if (model.contains("merges")) {
    type = "BPE";
  } else {
    type = "WordPiece";
  }
  if (type == "BPE") return BpeTokenizer::from_json(root, path);
  if (type == "WordPiece") return WordPieceTokenizer::from_json(root, path);
  json_detail::fail_at(path, "$.model.type",
                       fmt::format("unsupported model type '{}' (supported: BPE, WordPiece)", type));
}

}  // namespace forge::text
