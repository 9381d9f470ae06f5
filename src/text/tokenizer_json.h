#pragma once
// Hugging Face tokenizer.json pieces shared by the BPE and WordPiece loaders (internal).
#include <nlohmann/json.hpp>

#include <string>
#include <unordered_map>
#include <vector>

#include "text/added_tokens.h"

namespace forge::text::json_detail {

// Throws "[tokenizer] FILE: JSON_PATH: message".
[[noreturn]] void fail_at(const std::string& file, const std::string& path, const std::string& message);
// The member `key` of object `j` (at `path`), required to exist and have the given type
// ("object", "array", "string", "number", "boolean").
const nlohmann::json& member(const std::string& file, const nlohmann::json& j,
                             const std::string& path, const char* key, const char* type);
bool has_type(const nlohmann::json& j, const char* type);
std::vector<AddedToken> parse_added_tokens(const std::string& file, const nlohmann::json& root);
nlohmann::json added_tokens_to_json(const std::vector<AddedToken>& tokens);
// Parses "post_processor" (null, TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel,
// Sequence of those). vocab resolves token names to ids.
PostProcessor parse_post_processor(const std::string& file, const nlohmann::json& root,
                                   const std::unordered_map<std::string, int32_t>& vocab);

}  // namespace forge::text::json_detail
