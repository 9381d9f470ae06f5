#include "models/hf_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "formats/safetensors.h"

namespace forge::models {

namespace fs = std::filesystem;

namespace {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  FORGE_CHECK(in.good(), "[hf] cannot open {}", path.string());
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    FORGE_CHECK(false, "[hf] {}: invalid JSON ({})", path.string(), e.what());
  }
  return {};
}

void add_shard(HfCheckpoint& ck, const fs::path& file) {
  SafetensorsFile st = load_safetensors(file.string());
  for (auto& [name, t] : st.tensors) {
    FORGE_CHECK(!ck.has(name), "[hf] {}: tensor '{}' appears in more than one shard", ck.dir, name);
    ck.tensors.emplace(name, t);
  }
}

}  // namespace

const Tensor& HfCheckpoint::at(const std::string& name) const {
  auto it = tensors.find(name);
  FORGE_CHECK(it != tensors.end(), "[hf] {}: no tensor named '{}'", dir, name);
  return it->second;
}

bool is_hf_dir(const std::string& dir) {
  std::error_code ec;
  return fs::is_directory(dir, ec) && fs::exists(fs::path(dir) / "config.json", ec);
}

HfCheckpoint load_hf_checkpoint(const std::string& dir) {
  FORGE_CHECK(fs::is_directory(dir), "[hf] {} is not a directory", dir);
  HfCheckpoint ck;
  ck.dir = dir;
  const fs::path root(dir);
  FORGE_CHECK(fs::exists(root / "config.json"), "[hf] {}: no config.json", dir);
  ck.config = read_json(root / "config.json");
  FORGE_CHECK(ck.config.is_object(), "[hf] {}/config.json: expected a JSON object", dir);
  if (fs::exists(root / "model.safetensors.index.json")) {
    const auto index = read_json(root / "model.safetensors.index.json");
    FORGE_CHECK(index.contains("weight_map") && index["weight_map"].is_object(),
                "[hf] {}/model.safetensors.index.json: no weight_map object", dir);
    std::set<std::string> files;
    for (const auto& [name, file] : index["weight_map"].items()) {
      FORGE_CHECK(file.is_string(), "[hf] {}: weight_map['{}'] is not a file name", dir, name);
      files.insert(file.get<std::string>());
    }
    for (const auto& f : files) add_shard(ck, root / f);
    for (const auto& [name, file] : index["weight_map"].items()) {
      FORGE_CHECK(ck.has(name), "[hf] {}: tensor '{}' listed in the index is missing from {}", dir, name,
                  file.get<std::string>());
    }
  } else {
    FORGE_CHECK(fs::exists(root / "model.safetensors"), "[hf] {}: no model.safetensors (or index)", dir);
    add_shard(ck, root / "model.safetensors");
  }
  if (fs::exists(root / "tokenizer_config.json")) {
    const auto tc = read_json(root / "tokenizer_config.json");
    if (tc.contains("chat_template") && tc["chat_template"].is_string()) ck.chat_template = tc["chat_template"].get<std::string>();
  }
  return ck;
}

int64_t hf_int(const HfCheckpoint& ckpt, const std::string& key) {
  FORGE_CHECK(ckpt.config.contains(key) && ckpt.config[key].is_number_integer(),
              "[hf] {}/config.json: '{}' must be an integer", ckpt.dir, key);
  const auto v = ckpt.config[key].get<int64_t>();
  FORGE_CHECK(v > 0, "[hf] {}/config.json: '{}' must be positive, got {}", ckpt.dir, key, v);
  return v;
}

}  // namespace forge::models
