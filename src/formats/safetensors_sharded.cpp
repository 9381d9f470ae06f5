#include "formats/safetensors_sharded.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "core/error.h"

namespace forge {

namespace fs = std::filesystem;

namespace {

struct Resolved {
  std::string index;                // empty for a single file
  std::vector<std::string> shards;  // full paths
  nlohmann::json index_json;
};

Resolved resolve(const std::string& path) {
  Resolved r;
  fs::path p(path);
  if (fs::is_directory(p)) {
    if (fs::exists(p / "model.safetensors.index.json")) {
      p /= "model.safetensors.index.json";
    } else {
      FORGE_CHECK(fs::exists(p / "model.safetensors"),
                  "[safetensors] {}: no model.safetensors or model.safetensors.index.json in the directory", path);
      r.shards.push_back((p / "model.safetensors").string());
      return r;
    }
  }
  FORGE_CHECK(fs::exists(p), "[safetensors] {} does not exist", p.string());
  if (p.extension() != ".json") {
    r.shards.push_back(p.string());
    return r;
  }
  r.index = p.string();
  std::ifstream in(p);
  FORGE_CHECK(in.good(), "[safetensors] cannot open {}", r.index);
  std::stringstream ss;
  ss << in.rdbuf();
  r.index_json = nlohmann::json::parse(ss.str(), nullptr, false);
  FORGE_CHECK(!r.index_json.is_discarded() && r.index_json.is_object(), "[safetensors] {}: not a JSON object",
              r.index);
  FORGE_CHECK(r.index_json.contains("weight_map") && r.index_json["weight_map"].is_object(),
              "[safetensors] {}: missing the 'weight_map' object", r.index);
  std::set<std::string> seen;
  for (const auto& [tensor, shard] : r.index_json["weight_map"].items()) {
    FORGE_CHECK(shard.is_string(), "[safetensors] {}: weight_map['{}'] must be a file name", r.index, tensor);
    const std::string name = shard.get<std::string>();
    FORGE_CHECK(!name.empty() && name.find('/') == std::string::npos && name.find('\\') == std::string::npos &&
                    name != "." && name != "..",
                "[safetensors] {}: shard name '{}' for tensor '{}' must be a plain file name in the same directory",
                r.index, name, tensor);
    if (seen.insert(name).second) r.shards.push_back((p.parent_path() / name).string());
  }
  return r;
}

}  // namespace

std::vector<std::string> safetensors_checkpoint_files(const std::string& path) { return resolve(path).shards; }

SafetensorsFile load_safetensors_checkpoint(const std::string& path) {
  Resolved r = resolve(path);
  if (r.index.empty()) return load_safetensors(r.shards.front());
  SafetensorsFile out;
  std::map<std::string, std::string> owner;  // tensor -> shard
  for (const std::string& shard : r.shards) {
    std::error_code ec;  // the non-throwing form: a name the OS rejects (too long) is a missing shard
    FORGE_CHECK(fs::exists(shard, ec), "[safetensors] {}: shard {} is missing{}", r.index, shard,
                ec ? " (" + ec.message() + ")" : "");
    SafetensorsFile f = load_safetensors(shard);
    for (auto& [name, t] : f.tensors) {
      auto it = owner.find(name);
      FORGE_CHECK(it == owner.end(), "[safetensors] {}: tensor '{}' appears in both {} and {}", r.index, name,
                  it == owner.end() ? "" : it->second, shard);
      owner[name] = shard;
      out.tensors.emplace(name, t);
    }
    for (auto& [k, v] : f.metadata) out.metadata[k] = v;
  }
  const fs::path dir = fs::path(r.index).parent_path();
  for (const auto& [tensor, shard] : r.index_json["weight_map"].items()) {
    auto it = owner.find(tensor);
    FORGE_CHECK(it != owner.end(), "[safetensors] {}: tensor '{}' is listed in the index but missing from {}", r.index,
                tensor, shard.get<std::string>());
    FORGE_CHECK(it->second == (dir / shard.get<std::string>()).string(),
                "[safetensors] {}: tensor '{}' is listed in {} but stored in {}", r.index, tensor,
                shard.get<std::string>(), it->second);
  }
  if (r.index_json.contains("metadata") && r.index_json["metadata"].is_object()) {
    for (const auto& [k, v] : r.index_json["metadata"].items()) {
      out.metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
  }
  return out;
}

}  // namespace forge
