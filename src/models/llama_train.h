#pragma once
// A trainable (autograd) Llama forward for LoRA fine-tuning. The base weights of a checkpoint are
// dequantized to f32 once and frozen (requires_grad false); only the LoRA A/B matrices on the
// chosen target modules are parameters. Same math as LlamaModel (RMSNorm, RoPE in the
// checkpoint's layout, grouped-query causal attention, SwiGLU, tied or separate output), written
// with public ops so gradients flow; no KV cache (whole sequences per call).
#include <cstdint>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "models/llama.h"
#include "models/lora.h"

namespace forge::models {

// y = x Wᵀ + scale * (dropout(x) Aᵀ) Bᵀ. x [..., in], weight [out, in], a [r, in], b [out, r].
// dropout applies to the LoRA branch only and only when training (mask from `gen`).
Tensor lora_linear(const Tensor& x, const Tensor& weight, const Tensor& a, const Tensor& b, double scale,
                   double dropout = 0.0, bool training = false, Generator* gen = nullptr);


class LlamaLoraModel {
 public:
  // A is Kaiming-uniform (PEFT's kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(in), 1/sqrt(in))) drawn
  // from `seed`, B is zero, so the initial model equals the base.
  LlamaLoraModel(const LlamaCheckpoint& base, const LoraConfig& lora, uint64_t seed = 0);

  // ids [B, T] (int32/int64) -> hidden states after the final RMSNorm [B, T, d_model].
  // Sequences may be right-padded: causal attention never lets a position see later ones.
  Tensor hidden(const Tensor& ids);
  // h [..., d_model] -> logits [..., vocab] through the (possibly tied) output matrix.
  Tensor head(const Tensor& h) const;
  Tensor logits(const Tensor& ids) { return head(hidden(ids)); }

  // The LoRA parameters with PEFT names (base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight).
  NamedTensors parameters() const;
  // The current adapter (B rows converted to Hugging Face order) / load one (shapes checked).
  LoraAdapter adapter(const std::string& base_model_name) const;
  void load_adapter(const LoraAdapter& adapter);

  void train(bool on = true) { training_ = on; }
  bool training() const { return training_; }
  const LlamaConfig& config() const { return config_; }
  const LoraConfig& lora_config() const { return lora_; }
  Generator& generator() { return gen_; }

 private:
  struct Slot {
    Tensor weight;  // frozen f32 [out, in]
    Tensor a, b;    // LoRA, undefined when the module is not targeted
  };
  struct Layer {
    Tensor attn_norm, ffn_norm;
    Slot slots[7];  // kLoraModules order: q, k, v, o, gate, up, down
  };
  Tensor proj(const Slot& s, const Tensor& x);
  Tensor rope(const Tensor& x, const Tensor& cos, const Tensor& sin) const;

  LlamaConfig config_;
  LoraConfig lora_;
  Tensor tok_embd_, out_norm_, output_;
  std::vector<Layer> layers_;
  std::vector<float> inv_freq_;
  Generator gen_;
  bool training_ = false;
};

}  // namespace forge::models
