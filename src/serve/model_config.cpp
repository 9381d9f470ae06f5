#include "serve/model_config.h"

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "llm/load.h"
#include "models/bert.h"
#include "models/gpt.h"
#include "models/lora.h"
#include "serve/noop_model.h"

namespace forge::serve {

namespace fs = std::filesystem;

ModelSpec parse_model_flag(const std::string& flag) {
  size_t eq = flag.find('=');
  FORGE_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < flag.size(),
              "[serve] --model '{}' must be NAME=PATH or NAME=KIND:PATH", flag);
  ModelSpec spec;
  spec.name = flag.substr(0, eq);
  spec.path = flag.substr(eq + 1);
  for (const char* kind : {"llm", "embedding", "predict", "noop"}) {
    std::string prefix = std::string(kind) + ":";
    if (spec.path.rfind(prefix, 0) == 0) {
      spec.kind = kind;
      spec.path = spec.path.substr(prefix.size());
    }
  }
  return spec;
}

void apply_lora_flag(const std::string& flag, std::vector<ModelSpec>& models) {
  const size_t eq = flag.find('=');
  FORGE_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < flag.size(), "[serve] --lora '{}' must be NAME=ADAPTER_DIR",
              flag);
  const std::string name = flag.substr(0, eq);
  for (ModelSpec& m : models) {
    if (m.name != name) continue;
    FORGE_CHECK(m.lora.empty(), "[serve] --lora '{}': model '{}' already has the adapter '{}'", flag, name, m.lora);
    m.lora = flag.substr(eq + 1);
    return;
  }
  fail("[serve] --lora '{}': no model named '{}' (give it with --model {}=PATH or in the config)", flag, name, name);
}

void read_serve_config(const std::string& path, ServeOptions& o, std::vector<ModelSpec>& models) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    fail("[serve] {}: {}", path, std::string(e.description()));
  }
  for (const auto& [k, v] : t) {
    FORGE_CHECK(k.str() == "server" || k.str() == "models", "[serve] {}: unknown section '{}' (server, models)", path,
                k.str());
  }
  if (const toml::table* s = t["server"].as_table()) {
    for (const auto& [k, v] : *s) {
      std::string key(k.str());
      auto str = [&]() {
        FORGE_CHECK(v.is_string(), "[serve] {}: server.{} must be a string", path, key);
        return std::string(*v.value<std::string>());
      };
      auto num = [&]() {
        FORGE_CHECK(v.is_integer() || v.is_floating_point(), "[serve] {}: server.{} must be a number", path, key);
        return *v.value<double>();
      };
      if (key == "host")
        o.host = str();
      else if (key == "port")
        o.port = static_cast<int>(num());
      else if (key == "keys")
        o.keys_db = str();
      else if (key == "cert")
        o.cert_file = str();
      else if (key == "key")
        o.key_file = str();
      else if (key == "slots")
        o.engine.slots = static_cast<int>(num());
      else if (key == "prefill_budget")
        o.engine.prefill_budget = static_cast<int64_t>(num());
      else if (key == "max_queue")
        o.engine.max_queue = static_cast<size_t>(num());
      else if (key == "slot_tokens")
        o.engine.slot_tokens = static_cast<int64_t>(num());
      else if (key == "request_timeout")
        o.request_timeout_s = num();
      else if (key == "max_body_bytes")
        o.max_body_bytes = static_cast<size_t>(num());
      else if (key == "http_threads")
        o.http_threads = static_cast<int>(num());
      else if (key == "ledger_commit_ms")
        o.ledger_commit_ms = static_cast<int>(num());
      else if (key == "keepalive_spin_us")
        o.keepalive_spin_us = static_cast<int>(num());
      else if (key == "metrics_require_key") {
        FORGE_CHECK(v.is_boolean(), "[serve] {}: server.metrics_require_key must be true or false", path);
        o.metrics_require_key = *v.value<bool>();
      } else {
        fail("[serve] {}: unknown key server.{}", path, key);
      }
    }
  }
  if (const toml::node* m = t.get("models")) {
    const toml::array* arr = m->as_array();
    FORGE_CHECK(arr != nullptr, "[serve] {}: models must be an array of tables ([[models]])", path);
    for (size_t i = 0; i < arr->size(); ++i) {
      const toml::table* mt = (*arr)[i].as_table();
      FORGE_CHECK(mt != nullptr, "[serve] {}: models[{}] must be a table", path, i);
      ModelSpec spec;
      for (const auto& [k, v] : *mt) {
        std::string key(k.str());
        FORGE_CHECK(v.is_string(), "[serve] {}: models[{}].{} must be a string", path, i, key);
        std::string val(*v.value<std::string>());
        if (key == "name")
          spec.name = val;
        else if (key == "path")
          spec.path = val;
        else if (key == "kind")
          spec.kind = val;
        else if (key == "lora")
          spec.lora = val;
        else
          fail("[serve] {}: unknown key models[{}].{} (name, path, kind, lora)", path, i, key);
      }
      FORGE_CHECK(!spec.name.empty() && !spec.path.empty(), "[serve] {}: models[{}] needs name and path", path, i);
      // Relative model (and adapter) paths are relative to the config file.
      if (fs::path(spec.path).is_relative()) spec.path = (fs::path(path).parent_path() / spec.path).string();
      if (!spec.lora.empty() && fs::path(spec.lora).is_relative()) {
        spec.lora = (fs::path(path).parent_path() / spec.lora).string();
      }
      models.push_back(spec);
    }
  }
}

std::string detect_model_kind(const std::string& path) {
  FORGE_CHECK(fs::exists(path), "[serve] model path '{}' does not exist", path);
  if (fs::is_regular_file(path)) {
    FORGE_CHECK(fs::path(path).extension() == ".gguf", "[serve] model file '{}' is not a .gguf file", path);
    return "llm";
  }
  if (fs::exists(fs::path(path) / "model.json")) return "predict";
  if (models::is_gpt_dir(path) || models::is_gpt_dir((fs::path(path) / "model").string())) return "llm";
  fs::path config = fs::path(path) / "config.json";
  if (fs::exists(config)) {
    std::ifstream f(config);
    auto j = nlohmann::json::parse(f, nullptr, false);
    std::string type = j.is_object() ? j.value("model_type", "") : "";
    if (type == "bert") return "embedding";
    if (!type.empty()) return "llm";
  }
  fail(
      "[serve] cannot tell what model '{}' is (expected a .gguf file, a Forge model dir with model.json, a Forge "
      "GPT dir, or a Hugging Face dir with config.json); say it with NAME=KIND:PATH",
      path);
}

void load_model(Server& server, const ModelSpec& spec) {
  std::string kind = spec.kind.empty() ? detect_model_kind(spec.path) : spec.kind;
  if (!spec.lora.empty()) {
    FORGE_CHECK(kind == "llm", "[serve] model '{}': a LoRA adapter applies to LLMs (Llama family), not to {} models",
                spec.name, kind);
    server.add_llm(spec.name, models::load_llama_with_lora(spec.path, spec.lora));
    return;
  }
  if (kind == "predict") {
    FORGE_CHECK(fs::exists(fs::path(spec.path) / "model.json"),
                "[serve] '{}' has no model.json (not a Forge model dir)", spec.path);
    server.add_predictor(spec.name, spec.path);
  } else if (kind == "embedding") {
    server.add_embedding(spec.name, models::load_bert(spec.path));
  } else if (kind == "llm") {
    server.add_llm(spec.name, llm::load_causal_lm(spec.path));
  } else if (kind == "noop") {  // benchmarks only: see serve/noop_model.h
    server.add_embedding(spec.name, make_noop_embedding_model());
  } else {
    fail("[serve] model '{}': unknown kind '{}' (llm, embedding, predict, noop)", spec.name, kind);
  }
}

}  // namespace forge::serve
