#pragma once
// BERT-family sentence encoders (all-MiniLM-L6-v2, BGE, E5 ...) from a Hugging Face /
// sentence-transformers directory: word + position + token-type embeddings, post-norm encoder
// layers (self-attention, GELU MLP), then mean or CLS pooling (1_Pooling/config.json) and L2
// normalization (when modules.json lists a Normalize module). Inference only.
#include <memory>
#include <string>
#include <vector>

#include "llm/embedding_model.h"
#include "models/hf_checkpoint.h"
#include "models/llm_kernels.h"
#include "ops/precision.h"

namespace forge::models {

struct BertConfig {
  int64_t n_layer = 0, d_model = 0, n_head = 0, d_ff = 0, vocab = 0, max_positions = 512, type_vocab = 2;
  float ln_eps = 1e-12f;
  bool gelu_tanh = false;        // hidden_act "gelu_new"/"gelu_pytorch_tanh"
  std::string pooling = "mean";  // "mean" or "cls"
  bool normalize = true;
  std::string name = "bert";
};

// Role -> Hugging Face tensor name ("{}" = layer index). A "bert." prefix is accepted too.
extern const std::vector<std::pair<const char*, const char*>> kBertTensorNames;

class BertModel final : public llm::EmbeddingModel {
 public:
  BertModel(BertConfig config, std::shared_ptr<HfCheckpoint> ckpt, text::TokenizerPtr tokenizer);

  std::string name() const override { return config_.name; }
  int64_t dim() const override { return config_.d_model; }
  int64_t max_tokens() const override { return config_.max_positions; }
  std::vector<std::vector<float>> embed(const std::vector<std::string>& texts) override;
  text::TokenizerPtr tokenizer() const override { return tokenizer_; }

  // Embeddings of already tokenized inputs (special tokens included), all in one batch.
  std::vector<std::vector<float>> embed_ids(const std::vector<std::vector<int32_t>>& ids);
  const BertConfig& config() const { return config_; }
  // Opt-in: run the encoder's linear layers as bf16 GEMMs (oneDNN, f32 accumulation; about twice
  // the f32 rate on CPUs with AVX512-BF16). Off by default; attention, norms and pooling stay f32.
  void set_bf16(bool on) {
    if (on) require_bf16("the bf16 BERT path");
    bf16_ = on;
  }
  bool bf16() const { return bf16_; }

 private:
  struct Layer {
    LinearWeight qkv;  // q, k, v stacked into one [3d, d] weight: one GEMM over all rows
    LinearWeight o, up, down;

    std::vector<float> ln1_g, ln1_b, ln2_g, ln2_b;
  };
  BertConfig config_;
  std::shared_ptr<HfCheckpoint> ckpt_;
  text::TokenizerPtr tokenizer_;
  Tensor word_, pos_, type_;
  std::vector<float> emb_ln_g_, emb_ln_b_;
  std::vector<Layer> layers_;
  bool bf16_ = false;
  std::vector<float> x_, qkv_, att_, h_, ff_;

  // y[m, out] = x · Wᵀ without the bias (f32 sgemm, or bf16 when set_bf16).
  void gemm_rows(const LinearWeight& w, const float* x, int64_t m, float* y) const;
};

// Loads DIR (config.json with model_type "bert", model.safetensors, tokenizer.json or vocab.txt,
// optional 1_Pooling/config.json and modules.json). Errors name the directory.
std::shared_ptr<BertModel> load_bert(const std::string& dir);

}  // namespace forge::models
