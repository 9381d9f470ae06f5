// Llama loaders: GGUF (llama.cpp's key and tensor names) and Hugging Face directories.
#include <nlohmann/json.hpp>

#include <malloc.h>

#include <filesystem>
#include <fstream>

#include "backend/cpu/quant_packed.h"
#include "core/error.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "models/checkpoint_tokenizer.h"
#include "models/hf_checkpoint.h"
#include "models/llama.h"

namespace forge::models {

namespace {

std::string layer_name(const char* pattern, int64_t layer) {
  std::string s = pattern;
  const auto at = s.find("{}");
  if (at != std::string::npos) s.replace(at, 2, std::to_string(layer));
  return s;
}

const TensorNameRow& row_of(const std::string& role) {
  for (const auto& r : kLlamaTensorNames) {
    if (role == r.role) return r;
  }
  FORGE_CHECK(false, "[llama] unknown tensor role '{}'", role);
  return kLlamaTensorNames.front();
}

// The tokenizer arrays (vocab, merges, token types: ~14 MB of GgufValues for a 49k vocab) are
// only read to build the tokenizer, but the parsed file stays alive as the model's keepalive.
// Emptying them (and handing the freed heap pages back) before the weights are packed keeps them
// out of the peak resident memory of loading + generating.
void release_tokenizer_metadata(GgufFile& file) {
  for (auto& [key, value] : file.metadata) {
    if (value.type == GgufType::kArray && key.rfind("tokenizer.ggml.", 0) == 0) std::vector<GgufValue>().swap(value.array);
  }
  ::malloc_trim(0);
  // The metadata's file pages are not read again either.
  release_file_pages(file.source->data(), static_cast<size_t>(file.data_offset));
}

}  // namespace

LlamaCheckpoint open_llama_gguf(const std::string& path) {
  auto file = std::make_shared<GgufFile>(load_gguf(path));
  const std::string arch = file->architecture();
  FORGE_CHECK(arch == "llama", "[llama] {}: architecture '{}' is not supported here (expected 'llama')", path, arch);
  auto key = [&](const char* k) { return arch + "." + k; };
  LlamaConfig c;
  c.name = file->get_string("general.name", "llama");
  c.n_layer = file->at(key("block_count")).as_int(key("block_count"));
  c.d_model = file->at(key("embedding_length")).as_int(key("embedding_length"));
  c.n_head = file->at(key("attention.head_count")).as_int(key("attention.head_count"));
  c.n_kv_head = file->get_int(key("attention.head_count_kv"), c.n_head);
  c.d_ff = file->at(key("feed_forward_length")).as_int(key("feed_forward_length"));
  c.context = file->get_int(key("context_length"), 2048);
  c.rms_eps = static_cast<float>(file->get_float(key("attention.layer_norm_rms_epsilon"), 1e-5));
  c.rope_theta = static_cast<float>(file->get_float(key("rope.freq_base"), 10000.0));
  c.head_dim = file->get_int(key("attention.key_length"), c.d_model / c.n_head);
  const int64_t rope_dims = file->get_int(key("rope.dimension_count"), c.head_dim);
  FORGE_CHECK(rope_dims == c.head_dim, "[llama] {}: partial rotary embeddings ({} of {} dims) are not supported", path,
              rope_dims, c.head_dim);
  const std::string scaling = file->get_string(key("rope.scaling.type"), "none");
  if (scaling != "none") {
    c.rope_scaling = scaling;
    c.rope_factor = static_cast<float>(file->get_float(key("rope.scaling.factor"), 1.0));
    c.rope_original_context = file->get_int(key("rope.scaling.original_context_length"), c.context);
  }
  const Tensor embd = file->tensor(row_of("tok_embd").gguf);
  c.vocab = embd.size(0);
  c.rope_halves = false;
  auto lookup = [file](const std::string& role, int64_t layer) {
    const std::string name = layer_name(row_of(role).gguf, layer);
    return file->has_tensor(name) ? file->tensor(name) : Tensor();
  };
  text::TokenizerPtr tok = tokenizer_from_gguf(*file);
  std::optional<std::string> tmpl;
  if (file->has("tokenizer.chat_template"))
    tmpl = file->at("tokenizer.chat_template").as_string("tokenizer.chat_template");
  release_tokenizer_metadata(*file);
  return {c, lookup, tok, tmpl, file};
}

std::shared_ptr<LlamaModel> load_llama_gguf(const std::string& path, bool dequantize_weights) {
  LlamaCheckpoint ck = open_llama_gguf(path);
  ck.config.dequantize_weights = dequantize_weights;
  return load_llama(ck);
}

LlamaCheckpoint open_llama_hf(const std::string& dir) {
  auto ckpt = std::make_shared<HfCheckpoint>(load_hf_checkpoint(dir));
  const auto& j = ckpt->config;
  const std::string type = j.value("model_type", "");
  FORGE_CHECK(type == "llama" || type == "mistral",
              "[llama] {}: model_type '{}' is not a Llama-family model (expected llama or mistral)", dir, type);
  LlamaConfig c;
  c.name = j.value("_name_or_path", type);
  c.n_layer = hf_int(*ckpt, "num_hidden_layers");
  c.d_model = hf_int(*ckpt, "hidden_size");
  c.n_head = hf_int(*ckpt, "num_attention_heads");
  c.n_kv_head = j.contains("num_key_value_heads") && !j["num_key_value_heads"].is_null()
                    ? hf_int(*ckpt, "num_key_value_heads")
                    : c.n_head;
  c.d_ff = hf_int(*ckpt, "intermediate_size");
  c.vocab = hf_int(*ckpt, "vocab_size");
  c.context = j.value("max_position_embeddings", int64_t{2048});
  c.rms_eps = j.value("rms_norm_eps", 1e-5f);
  c.rope_theta = j.value("rope_theta", 10000.0f);
  c.head_dim = j.contains("head_dim") && !j["head_dim"].is_null() ? hf_int(*ckpt, "head_dim") : c.d_model / c.n_head;
  c.rope_halves = true;
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) {
    const auto& s = j["rope_scaling"];
    c.rope_scaling = s.value("rope_type", s.value("type", std::string()));
    if (c.rope_scaling == "default") c.rope_scaling.clear();
    c.rope_factor = s.value("factor", 1.0f);
    c.rope_low_freq_factor = s.value("low_freq_factor", 1.0f);
    c.rope_high_freq_factor = s.value("high_freq_factor", 4.0f);
    c.rope_original_context = s.value("original_max_position_embeddings", int64_t{8192});
  }
  const bool tied = j.value("tie_word_embeddings", false);
  auto lookup = [ckpt, tied](const std::string& role, int64_t layer) {
    if (role == "output" && tied) return Tensor();
    const std::string name = layer_name(row_of(role).hf, layer);
    return ckpt->has(name) ? ckpt->at(name) : Tensor();
  };
  text::TokenizerPtr tok = tokenizer_from_hf_dir(dir);
  return {c, lookup, tok, ckpt->chat_template, ckpt};
}

std::shared_ptr<LlamaModel> load_llama_hf(const std::string& dir) { return load_llama(open_llama_hf(dir)); }

LlamaCheckpoint open_llama_checkpoint(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return open_llama_hf(path);
  return open_llama_gguf(path);
}

std::shared_ptr<LlamaModel> load_llama(const LlamaCheckpoint& checkpoint) {
  return std::make_shared<LlamaModel>(checkpoint.config, checkpoint.lookup, checkpoint.tokenizer,
                                      checkpoint.chat_template, checkpoint.keepalive);
}

}  // namespace forge::models
