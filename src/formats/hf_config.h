#pragma once
// Hugging Face config.json with validated, typed access: every getter names the file, the key,
// the expected and the actual JSON type in its error ("[hf_config] DIR/config.json: 'hidden_size'
// must be an integer, got string").
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace forge {

class HfConfig {
 public:
  // `path` is a config.json file or a directory holding one.
  static HfConfig load(const std::string& path);
  static HfConfig parse(const std::string& text, const std::string& name = "config.json");

  const std::string& path() const { return path_; }
  const nlohmann::json& json() const { return json_; }
  bool has(const std::string& key) const;  // present and not null

  // Required values (throw when missing or of the wrong type).
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;  // integers accepted
  bool get_bool(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  // Optional values: the fallback when missing or null; still throw on a wrong type.
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  // A nested object ("rope_scaling"), or nullopt when missing/null.
  std::optional<HfConfig> get_object(const std::string& key) const;

  std::string model_type() const;                 // "llama", "bert", "gpt2", ... (required)
  std::vector<std::string> architectures() const;  // empty when absent

 private:
  const nlohmann::json* lookup(const std::string& key) const;
  std::string path_;
  nlohmann::json json_;
};

}  // namespace forge
