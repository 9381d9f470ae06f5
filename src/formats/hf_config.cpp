#include "formats/hf_config.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace forge {

namespace {
const char* json_kind(const nlohmann::json& j) {
  if (j.is_null()) return "null";
  if (j.is_boolean()) return "bool";
  if (j.is_number_integer()) return "integer";
  if (j.is_number_float()) return "float";
  if (j.is_string()) return "string";
  if (j.is_array()) return "array";
  return "object";
}
}  // namespace

HfConfig HfConfig::load(const std::string& path) {
  std::filesystem::path p(path);
  if (std::filesystem::is_directory(p)) p /= "config.json";
  std::ifstream in(p);
  FORGE_CHECK(in.good(), "[hf_config] cannot open {}", p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), p.string());
}

HfConfig HfConfig::parse(const std::string& text, const std::string& name) {
  HfConfig c;
  c.path_ = name;
  c.json_ = nlohmann::json::parse(text, nullptr, false);
  FORGE_CHECK(!c.json_.is_discarded(), "[hf_config] {}: not valid JSON", name);
  FORGE_CHECK(c.json_.is_object(), "[hf_config] {}: expected a JSON object, got {}", name, json_kind(c.json_));
  return c;
}

const nlohmann::json* HfConfig::lookup(const std::string& key) const {
  auto it = json_.find(key);
  if (it == json_.end() || it->is_null()) return nullptr;
  return &*it;
}

bool HfConfig::has(const std::string& key) const { return lookup(key) != nullptr; }

int64_t HfConfig::get_int(const std::string& key) const {
  const nlohmann::json* j = lookup(key);
  FORGE_CHECK(j != nullptr, "[hf_config] {}: required key '{}' is missing", path_, key);
  FORGE_CHECK(j->is_number_integer(), "[hf_config] {}: '{}' must be an integer, got {}", path_, key, json_kind(*j));
  return j->get<int64_t>();
}

double HfConfig::get_float(const std::string& key) const {
  const nlohmann::json* j = lookup(key);
  FORGE_CHECK(j != nullptr, "[hf_config] {}: required key '{}' is missing", path_, key);
  FORGE_CHECK(j->is_number(), "[hf_config] {}: '{}' must be a number, got {}", path_, key, json_kind(*j));
  return j->get<double>();
}

bool HfConfig::get_bool(const std::string& key) const {
  const nlohmann::json* j = lookup(key);
  FORGE_CHECK(j != nullptr, "[hf_config] {}: required key '{}' is missing", path_, key);
  FORGE_CHECK(j->is_boolean(), "[hf_config] {}: '{}' must be a bool, got {}", path_, key, json_kind(*j));
  return j->get<bool>();
}

std::string HfConfig::get_string(const std::string& key) const {
  const nlohmann::json* j = lookup(key);
  FORGE_CHECK(j != nullptr, "[hf_config] {}: required key '{}' is missing", path_, key);
  FORGE_CHECK(j->is_string(), "[hf_config] {}: '{}' must be a string, got {}", path_, key, json_kind(*j));
  return j->get<std::string>();
}

int64_t HfConfig::get_int(const std::string& key, int64_t fallback) const { return has(key) ? get_int(key) : fallback; }
double HfConfig::get_float(const std::string& key, double fallback) const {
  return has(key) ? get_float(key) : fallback;
}
bool HfConfig::get_bool(const std::string& key, bool fallback) const { return has(key) ? get_bool(key) : fallback; }
std::string HfConfig::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

std::optional<HfConfig> HfConfig::get_object(const std::string& key) const {
  const nlohmann::json* j = lookup(key);
  if (!j) return std::nullopt;
  FORGE_CHECK(j->is_object(), "[hf_config] {}: '{}' must be an object, got {}", path_, key, json_kind(*j));
  HfConfig c;
  c.path_ = path_ + ":" + key;
  c.json_ = *j;
  return c;
}

std::string HfConfig::model_type() const { return get_string("model_type"); }

std::vector<std::string> HfConfig::architectures() const {
  std::vector<std::string> out;
  const nlohmann::json* j = lookup("architectures");
  if (!j) return out;
  FORGE_CHECK(j->is_array(), "[hf_config] {}: 'architectures' must be an array, got {}", path_, json_kind(*j));
  for (const auto& e : *j) {
    FORGE_CHECK(e.is_string(), "[hf_config] {}: 'architectures' entries must be strings, got {}", path_, json_kind(e));
    out.push_back(e.get<std::string>());
  }
  return out;
}

}  // namespace forge
