#include "models/lora.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "formats/byte_source.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/quant.h"

namespace forge::models {

namespace fs = std::filesystem;

const std::vector<LoraModuleRow> kLoraModules = {
    {"q_proj", "attn_q", "self_attn"},      {"k_proj", "attn_k", "self_attn"}, {"v_proj", "attn_v", "self_attn"},
    {"o_proj", "attn_output", "self_attn"}, {"gate_proj", "ffn_gate", "mlp"},  {"up_proj", "ffn_up", "mlp"},
    {"down_proj", "ffn_down", "mlp"},
};

namespace {

std::string valid_modules() {
  std::string s;
  for (const auto& m : kLoraModules) s += (s.empty() ? "" : ", ") + std::string(m.module);
  return s;
}

// Permutes rows of [heads * hd, cols]: to_hf maps GGUF row (h, 2j + t) to HF row (h, t * hd/2 + j).
Tensor permute_rope_rows(const Tensor& w, int64_t heads, bool to_hf) {
  FORGE_CHECK(w.dim() == 2 && heads > 0 && w.size(0) % (2 * heads) == 0,
              "[lora] cannot permute rows of {} for {} heads", shape_str(w), heads);
  Tensor src = w.to(DType::kF32).contiguous();
  Tensor out = empty(src.shape());
  const int64_t hd = w.size(0) / heads, half = hd / 2, cols = w.size(1);
  const float* s = src.data<float>();
  float* d = out.data<float>();
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t j = 0; j < half; ++j) {
      for (int64_t t = 0; t < 2; ++t) {
        const int64_t gguf = h * hd + 2 * j + t, hf = h * hd + t * half + j;
        const int64_t from = to_hf ? gguf : hf, to = to_hf ? hf : gguf;
        std::copy(s + from * cols, s + (from + 1) * cols, d + to * cols);
      }
    }
  }
  return out;
}

int64_t rope_heads(const std::string& module, const LlamaConfig& c) {
  if (module == "q_proj") return c.n_head;
  if (module == "k_proj") return c.n_kv_head;
  return 0;
}

Tensor f32(const Tensor& t) {
  if (is_quantized(t.dtype())) return dequantize(t);
  return t.dtype() == DType::kF32 ? t.contiguous() : t.to(DType::kF32).contiguous();
}

}  // namespace

void check_lora_config(const LoraConfig& c) {
  FORGE_CHECK(c.rank > 0, "[lora] rank must be > 0, got {}", c.rank);
  FORGE_CHECK(c.alpha > 0, "[lora] alpha must be > 0, got {}", c.alpha);
  FORGE_CHECK(c.dropout >= 0 && c.dropout < 1, "[lora] dropout must be in [0, 1), got {}", c.dropout);
  FORGE_CHECK(!c.target_modules.empty(), "[lora] target_modules is empty (valid: {})", valid_modules());
  std::set<std::string> seen;
  for (const auto& m : c.target_modules) {
    lora_module(m);
    FORGE_CHECK(seen.insert(m).second, "[lora] target module '{}' is listed twice", m);
  }
}

const LoraModuleRow& lora_module(const std::string& module) {
  for (const auto& m : kLoraModules) {
    if (module == m.module) return m;
  }
  fail("[lora] unknown target module '{}' (valid: {})", module, valid_modules());
}

std::string lora_tensor_prefix(const std::string& module, int64_t layer) {
  return fmt::format("base_model.model.model.layers.{}.{}.{}", layer, lora_module(module).parent, module);
}

Tensor rope_rows_gguf_to_hf(const Tensor& w, int64_t heads) { return permute_rope_rows(w, heads, true); }
Tensor rope_rows_hf_to_gguf(const Tensor& w, int64_t heads) { return permute_rope_rows(w, heads, false); }

Tensor lora_b_for_base(const Tensor& b_hf, const std::string& module, const LlamaConfig& config) {
  const int64_t heads = rope_heads(module, config);
  if (config.rope_halves || heads == 0) return b_hf;
  return rope_rows_hf_to_gguf(b_hf, heads);
}

Tensor lora_b_to_hf(const Tensor& b_base, const std::string& module, const LlamaConfig& config) {
  const int64_t heads = rope_heads(module, config);
  if (config.rope_halves || heads == 0) return b_base;
  return rope_rows_gguf_to_hf(b_base, heads);
}

void save_lora_adapter(const std::string& dir, const LoraAdapter& adapter) {
  check_lora_config(adapter.config);
  FORGE_CHECK(!adapter.weights.empty(), "[lora] {}: the adapter has no weights", dir);
  fs::create_directories(dir);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [key, w] : adapter.weights) {
    const std::string p = lora_tensor_prefix(key.first, key.second);
    tensors.emplace_back(p + ".lora_A.weight", w.a.detach().to(DType::kF32).contiguous());
    tensors.emplace_back(p + ".lora_B.weight", w.b.detach().to(DType::kF32).contiguous());
  }
  save_safetensors((fs::path(dir) / "adapter_model.safetensors").string(), tensors, {{"format", "pt"}});
  nlohmann::json j = {{"peft_type", "LORA"},
                      {"task_type", "CAUSAL_LM"},
                      {"r", adapter.config.rank},
                      {"lora_alpha", adapter.config.alpha},
                      {"lora_dropout", adapter.config.dropout},
                      {"target_modules", adapter.config.target_modules},
                      {"base_model_name_or_path", adapter.base_model},
                      {"bias", "none"},
                      {"fan_in_fan_out", false},
                      {"inference_mode", true}};
  const std::string text = j.dump(2) + "\n";
  write_file_atomic((fs::path(dir) / "adapter_config.json").string(),
                    [&](std::FILE* f) { std::fwrite(text.data(), 1, text.size(), f); });
}

LoraAdapter load_lora_adapter(const std::string& dir) {
  const fs::path cfg_path = fs::path(dir) / "adapter_config.json";
  const fs::path st_path = fs::path(dir) / "adapter_model.safetensors";
  FORGE_CHECK(fs::is_regular_file(cfg_path), "[lora] {}: no adapter_config.json (expected a PEFT LoRA directory)", dir);
  FORGE_CHECK(fs::is_regular_file(st_path), "[lora] {}: no adapter_model.safetensors", dir);
  std::ifstream in(cfg_path);
  const auto j = nlohmann::json::parse(in, nullptr, false);
  FORGE_CHECK(!j.is_discarded() && j.is_object(), "[lora] {}: invalid JSON", cfg_path.string());
  FORGE_CHECK(j.value("peft_type", std::string()) == "LORA", "[lora] {}: peft_type is '{}', expected 'LORA'",
              cfg_path.string(), j.value("peft_type", std::string()));
  LoraAdapter a;
  try {
    a.config.rank = j.at("r").get<int64_t>();
    a.config.alpha = j.at("lora_alpha").get<double>();
    a.config.dropout = j.value("lora_dropout", 0.0);
    const auto& tm = j.at("target_modules");
    a.config.target_modules =
        tm.is_string() ? std::vector<std::string>{tm.get<std::string>()} : tm.get<std::vector<std::string>>();
    a.base_model = j.value("base_model_name_or_path", std::string());
  } catch (const nlohmann::json::exception& e) {
    fail("[lora] {}: {}", cfg_path.string(), e.what());
  }
  // PEFT options that change the math: reject instead of silently applying the wrong update.
  FORGE_CHECK(!(j.contains("use_rslora") && j["use_rslora"].is_boolean() && j["use_rslora"].get<bool>()),
              "[lora] {}: rsLoRA adapters (use_rslora) are not supported", cfg_path.string());
  for (const char* key : {"rank_pattern", "alpha_pattern"}) {
    FORGE_CHECK(!j.contains(key) || j[key].is_null() || j[key].empty(), "[lora] {}: per-module {} is not supported",
                cfg_path.string(), key);
  }
  FORGE_CHECK(!j.contains("use_dora") || !j["use_dora"].is_boolean() || !j["use_dora"].get<bool>(),
              "[lora] {}: DoRA adapters are not supported", cfg_path.string());
  check_lora_config(a.config);
  SafetensorsFile f = load_safetensors(st_path.string());
  const std::string head = "base_model.model.model.layers.";
  for (const auto& [name, t] : f.tensors) {
    // base_model.model.model.layers.{i}.{parent}.{module}.lora_{A|B}[.default].weight
    FORGE_CHECK(name.rfind(head, 0) == 0, "[lora] {}: unexpected tensor '{}'", st_path.string(), name);
    std::stringstream ss(name.substr(head.size()));
    std::vector<std::string> parts;
    for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
    FORGE_CHECK(parts.size() >= 5 && parts.back() == "weight" && (parts[3] == "lora_A" || parts[3] == "lora_B"),
                "[lora] {}: unexpected tensor '{}'", st_path.string(), name);
    int64_t layer = -1;
    try {
      layer = std::stoll(parts[0]);
    } catch (const std::exception&) {
      fail("[lora] {}: bad layer index in '{}'", st_path.string(), name);
    }
    const LoraModuleRow& m = lora_module(parts[2]);
    FORGE_CHECK(parts[1] == m.parent, "[lora] {}: '{}' should be under {}", st_path.string(), name, m.parent);
    FORGE_CHECK(t.dim() == 2, "[lora] {}: '{}' must be 2-d, got {}", st_path.string(), name, shape_str(t));
    LoraPair& p = a.weights[{parts[2], layer}];
    (parts[3] == "lora_A" ? p.a : p.b) = f32(t).clone();
  }
  FORGE_CHECK(!a.weights.empty(), "[lora] {}: no LoRA tensors", st_path.string());
  for (const auto& [key, p] : a.weights) {
    const std::string prefix = lora_tensor_prefix(key.first, key.second);
    FORGE_CHECK(p.a.defined() && p.b.defined(), "[lora] {}: {} needs both lora_A and lora_B", st_path.string(), prefix);
    FORGE_CHECK(p.a.size(0) == a.config.rank && p.b.size(1) == a.config.rank,
                "[lora] {}: {} has lora_A {} and lora_B {} but r = {}", st_path.string(), prefix, shape_str(p.a),
                shape_str(p.b), a.config.rank);
  }
  return a;
}

void check_lora_fits(const LoraAdapter& adapter, const LlamaCheckpoint& base) {
  const auto& c = base.config;
  for (const auto& [key, p] : adapter.weights) {
    const auto& [module, layer] = key;
    FORGE_CHECK(layer >= 0 && layer < c.n_layer,
                "[lora] adapter/base shape mismatch: {} has layer {} but the base has {}", module, layer, c.n_layer);
    const Tensor w = base.lookup(lora_module(module).role, layer);
    FORGE_CHECK(w.defined(), "[lora] base checkpoint has no weight for {} (layer {})", module, layer);
    const int64_t out = w.size(0), in = w.size(1);
    FORGE_CHECK(p.a.size(1) == in && p.b.size(0) == out,
                "[lora] adapter/base shape mismatch: {} layer {}: lora_A {} and lora_B {} do not fit the base weight "
                "[{}, {}]",
                module, layer, shape_str(p.a), shape_str(p.b), out, in);
  }
}

LlamaCheckpoint apply_lora(const LlamaCheckpoint& base, const LoraAdapter& adapter) {
  check_lora_fits(adapter, base);
  NoGradGuard no_grad;
  auto merged = std::make_shared<std::map<std::pair<std::string, int64_t>, Tensor>>();
  const double scale = adapter.config.scale();
  for (const auto& [key, p] : adapter.weights) {
    const auto& [module, layer] = key;
    const std::string role = lora_module(module).role;
    Tensor w = f32(base.lookup(role, layer));
    Tensor b = lora_b_for_base(p.b, module, base.config);
    (*merged)[{role, layer}] = (w + matmul(b, p.a) * scale).contiguous();
  }
  LlamaCheckpoint out = base;
  auto base_lookup = base.lookup;
  out.lookup = [base_lookup, merged](const std::string& role, int64_t layer) {
    auto it = merged->find({role, layer});
    return it != merged->end() ? it->second : base_lookup(role, layer);
  };
  return out;
}

std::string find_lora_adapter_dir(const std::string& dir) {
  if (fs::is_regular_file(fs::path(dir) / "adapter_config.json")) return dir;
  const fs::path sub = fs::path(dir) / "adapter";
  if (fs::is_regular_file(sub / "adapter_config.json")) return sub.string();
  fail("[lora] {}: not a LoRA adapter (no adapter_config.json there or in {}/adapter)", dir, dir);
}

std::shared_ptr<LlamaModel> load_llama_with_lora(const std::string& model_path, const std::string& adapter_dir) {
  LoraAdapter adapter = load_lora_adapter(find_lora_adapter_dir(adapter_dir));
  LlamaCheckpoint base = open_llama_checkpoint(model_path);
  return load_llama(apply_lora(base, adapter));
}

int64_t merge_lora_gguf(const std::string& model_path, const std::string& adapter_dir, const std::string& out_path,
                        DType type) {
  FORGE_CHECK(type == DType::kF32 || is_quantized(type), "[lora] merge: output type {} must be f32 or quantized",
              dtype_name(type));
  FORGE_CHECK(!fs::is_directory(model_path) && is_gguf_file(model_path),
              "[lora] merge: {} is not a GGUF file (merging writes GGUF; convert a Hugging Face dir with forge "
              "quantize first)",
              model_path);
  const LoraAdapter adapter = load_lora_adapter(find_lora_adapter_dir(adapter_dir));
  const LlamaCheckpoint merged = apply_lora(open_llama_gguf(model_path), adapter);
  const GgufFile g = load_gguf(model_path);
  std::set<std::string> adapted;
  std::map<std::string, std::pair<std::string, int64_t>> role_of;  // GGUF name -> (role, layer)
  for (const auto& [key, p] : adapter.weights) {
    const std::string role = lora_module(key.first).role;
    for (const auto& row : kLlamaTensorNames) {
      if (role != row.role) continue;
      std::string name = row.gguf;
      name.replace(name.find("{}"), 2, std::to_string(key.second));
      role_of[name] = {role, key.second};
    }
  }
  std::vector<std::pair<std::string, GgufValue>> metadata;
  for (const auto& [k, v] : g.metadata) {
    if (k == "general.alignment") continue;
    metadata.emplace_back(k, v);
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  int64_t count = 0;
  for (const auto& ti : g.tensor_infos) {
    auto it = role_of.find(ti.name);
    if (it == role_of.end()) {
      tensors.emplace_back(ti.name, g.tensor(ti.name));
      continue;
    }
    Tensor w = merged.lookup(it->second.first, it->second.second);
    DType to = type;
    const int64_t inner = w.shape().back();
    if (is_quantized(to) && inner % block_size(to) != 0)
      to = inner % block_size(DType::kQ8_0) == 0 ? DType::kQ8_0 : DType::kF32;
    tensors.emplace_back(ti.name, to == DType::kF32 ? w : quantize(w, to));
    ++count;
  }
  save_gguf(out_path, metadata, tensors);
  return count;
}

}  // namespace forge::models
