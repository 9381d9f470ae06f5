#pragma once
// LoRA adapters for Llama-family models (Hu et al. 2021, as in Hugging Face PEFT):
// y = W x + (alpha / r) * B (A (dropout(x))), with A [r, in] and B [out, r] per target module.
//
// On disk an adapter is a PEFT directory: adapter_model.safetensors with tensors named
// `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight` ([r, in]) and
// `...lora_B.weight` ([out, r]), plus adapter_config.json (peft_type "LORA", r, lora_alpha,
// lora_dropout, target_modules, base_model_name_or_path, task_type "CAUSAL_LM", bias "none").
// Rows of B for q_proj / k_proj are stored in Hugging Face order (RoPE over the two halves of a
// head); on a GGUF base (RoPE over adjacent pairs) they are permuted like llama.cpp's converter
// permutes the base weights, so one adapter file works on both bases and with PEFT.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/llama.h"

namespace forge::models {

struct LoraConfig {
  int64_t rank = 8;
  double alpha = 16.0;
  double dropout = 0.05;
  std::vector<std::string> target_modules = {"q_proj", "v_proj"};
  double scale() const { return alpha / static_cast<double>(rank); }
};

// PEFT module names and the Llama tensor role each adapts ("q_proj" -> "attn_q").
struct LoraModuleRow {
  const char* module;
  const char* role;
  const char* parent;  // "self_attn" or "mlp"
};
extern const std::vector<LoraModuleRow> kLoraModules;

// Throws "[lora] ..." for rank <= 0, alpha <= 0, dropout outside [0, 1), no or unknown or
// repeated target modules (naming the valid ones).
void check_lora_config(const LoraConfig& config);
// The role ("attn_q") of a PEFT module name ("q_proj"); throws for unknown names.
const LoraModuleRow& lora_module(const std::string& module);
// "base_model.model.model.layers.3.self_attn.q_proj" (append ".lora_A.weight" / ".lora_B.weight").
std::string lora_tensor_prefix(const std::string& module, int64_t layer);

// One adapted linear layer: A [r, in], B [out, r] (f32). B rows are in Hugging Face order.
struct LoraPair {
  Tensor a, b;
};

struct LoraAdapter {
  LoraConfig config;
  std::string base_model;  // base_model_name_or_path
  // Keyed by (module, layer), e.g. {"q_proj", 3}.
  std::map<std::pair<std::string, int64_t>, LoraPair> weights;
};

// Writes adapter_model.safetensors and adapter_config.json into `dir` (created; crash-safe).
void save_lora_adapter(const std::string& dir, const LoraAdapter& adapter);
// Reads a PEFT LoRA directory (ours or PEFT's). Errors name the file and the offending tensor.
LoraAdapter load_lora_adapter(const std::string& dir);

// Rows of a q/k projection (or of B) [heads * head_dim, ...] between the GGUF layout (RoPE over
// adjacent pairs) and the Hugging Face layout (RoPE over halves). Returns a new contiguous tensor.
Tensor rope_rows_gguf_to_hf(const Tensor& w, int64_t heads);
Tensor rope_rows_hf_to_gguf(const Tensor& w, int64_t heads);

// B of (module, layer) converted to the row layout of a base with `config` (no-op for HF bases
// and for modules other than q/k_proj).
Tensor lora_b_for_base(const Tensor& b_hf, const std::string& module, const LlamaConfig& config);
Tensor lora_b_to_hf(const Tensor& b_base, const std::string& module, const LlamaConfig& config);

// Checks that every adapter tensor fits the base (layer index, [r, in] / [out, r] against the
// base weight's shape); throws "[lora] adapter/base shape mismatch: ..." otherwise.
void check_lora_fits(const LoraAdapter& adapter, const LlamaCheckpoint& base);

// Merges the adapter into the checkpoint: the returned checkpoint's lookup yields
// W' = W + (alpha / r) B A in f32 (dequantized) for every adapted weight and the base tensors
// otherwise. The merged weights are computed once, here.
LlamaCheckpoint apply_lora(const LlamaCheckpoint& base, const LoraAdapter& adapter);

// `dir` itself when it holds adapter_config.json, else <dir>/adapter (a `forge finetune` run dir).
std::string find_lora_adapter_dir(const std::string& dir);

// Opens MODEL (GGUF file or HF dir), merges the adapter in ADAPTER_DIR (or a run dir), builds the model.
std::shared_ptr<LlamaModel> load_llama_with_lora(const std::string& model_path, const std::string& adapter_dir);

// Writes the GGUF checkpoint at `model_path` with the adapter merged into `out_path` (GGUF,
// crash-safe). Adapted weights are stored as `type` (F32, or a quantized type; rows whose length
// is not a multiple of its block fall back to Q8_0, then F32); every other tensor and all
// metadata are copied unchanged. Returns the number of merged weights.
int64_t merge_lora_gguf(const std::string& model_path, const std::string& adapter_dir, const std::string& out_path,
                        DType type = DType::kF32);

}  // namespace forge::models
