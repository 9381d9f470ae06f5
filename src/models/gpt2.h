#pragma once
// GPT-2 (Hugging Face checkpoints: config.json model_type "gpt2" + model.safetensors) for
// inference: learned positions, pre-LayerNorm blocks, fused QKV, GELU (tanh) MLP, tied output.
// HF stores these linear layers as Conv1D, i.e. weight [in, out]; they are used as stored
// (transposed GEMM), not copied.
#include <memory>
#include <string>
#include <vector>

#include "llm/causal_lm.h"
#include "models/buffered_lm.h"
#include "models/hf_checkpoint.h"
#include "models/llm_kernels.h"

namespace forge::models {

struct Gpt2Config {
  int64_t n_layer = 0, d_model = 0, n_head = 0, vocab = 0, context = 1024;
  float ln_eps = 1e-5f;
  std::string name = "gpt2";
};

// Role -> Hugging Face name ("{}" = layer index; a "transformer." prefix is accepted too).
extern const std::vector<std::pair<const char*, const char*>> kGpt2TensorNames;

class Gpt2Model final : public BufferedCausalLM {
 public:
  Gpt2Model(Gpt2Config config, std::shared_ptr<HfCheckpoint> ckpt, text::TokenizerPtr tokenizer);
  std::string name() const override { return config_.name; }
  int64_t vocab_size() const override { return config_.vocab; }
  int64_t context_length() const override { return config_.context; }
  std::unique_ptr<llm::KvCache> new_cache(int64_t max_tokens) const override;
  text::TokenizerPtr tokenizer() const override { return tokenizer_; }
  void forward_into(const std::vector<llm::SeqChunk>& chunks, bool all_rows, float* logits) override;

 private:
  struct Layer {
    std::vector<float> ln1_g, ln1_b, ln2_g, ln2_b;
    LinearWeight qkv, proj, fc, fc_proj;
  };
  Gpt2Config config_;
  std::shared_ptr<HfCheckpoint> ckpt_;
  text::TokenizerPtr tokenizer_;
  Tensor wte_, wpe_;
  std::vector<float> lnf_g_, lnf_b_;
  LinearWeight head_;
  std::vector<Layer> layers_;
  std::vector<float> x_, h_, qkv_, att_, ff_, last_, scratch_;
  std::vector<int64_t> pos_;
};

std::shared_ptr<Gpt2Model> load_gpt2(const std::string& dir);

}  // namespace forge::models
