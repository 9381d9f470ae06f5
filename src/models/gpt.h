#pragma once
// GPT: a decoder-only transformer (token + learned position embeddings, pre-LayerNorm blocks of
// causal multi-head self-attention with a fused qkv projection and a GELU MLP, final LayerNorm,
// linear head optionally tied to the token embedding). Parameter names follow the PyTorch
// reference (tok.weight, pos.weight, blocks.N.{ln1,qkv,proj,ln2,fc,fc2}.{weight,bias},
// ln.{weight,bias}, head.weight), so state dicts load either way.
//
// Two paths: forward() records autograd (training, with dropout); GptLM (llm::CausalLM) runs
// inference on raw buffers with a preallocated KV cache and no autograd bookkeeping.
#include <cstdint>
#include <memory>
#include <string>

#include "llm/causal_lm.h"
#include "models/buffered_lm.h"
#include "nn/module.h"
#include "text/tokenizer.h"

namespace forge::models {

struct GptConfig {
  int64_t vocab_size = 0;
  int64_t context = 256;  // maximum positions
  int64_t n_layer = 6;
  int64_t n_head = 6;
  int64_t d_model = 384;  // divisible by n_head
  bool tie_weights = false;  // head.weight shares tok.weight
  double dropout = 0.0;      // after the embeddings, attention projection and MLP (training only)
};

// Validates a config ("[gpt] d_model 100 is not divisible by n_head 6").
void check_gpt_config(const GptConfig& config);

class Gpt : public nn::Module {
 public:
  // Weights: normal(0, 0.02), output projections of each block (proj, fc2) scaled by
  // 1/sqrt(2 n_layer), zero biases, LayerNorm ones/zeros; drawn from `seed`.
  explicit Gpt(GptConfig config, uint64_t seed = 0);
  // ids [B, T] (int32/int64, T <= context) -> logits [B, T, vocab].
  Tensor forward(const Tensor& ids) override;
  std::string name() const override { return "GPT"; }
  const GptConfig& config() const { return config_; }
  // The head weight [vocab, d_model] (tok.weight when tied).
  Tensor head_weight() const;

 private:
  GptConfig config_;
};

// The KV cache of GptLM: per layer K and V as [heads, capacity, head_dim], allocated once.
class GptCache : public llm::KvCache {
 public:
  GptCache(const GptConfig& config, int64_t capacity);
  int64_t size() const override { return size_; }
  int64_t capacity() const override { return capacity_; }
  void truncate(int64_t n) override;

 private:
  friend class GptLM;
  int64_t size_ = 0;
  int64_t capacity_ = 0;
  std::vector<std::vector<float>> k_, v_;  // per layer
};

// A trained Gpt (+ its tokenizer) as an llm::CausalLM. forward() runs without autograd on the
// module's current weights (read each call, so training updates are seen). forward_batch() runs
// several sequences in one step: the linear layers see the tokens of every chunk as one matrix,
// attention runs per sequence over its own cache. Scratch buffers belong to the GptLM (grown on
// the largest step, then reused), so one GptLM serves one thread at a time.
class GptLM : public BufferedCausalLM {
 public:
  GptLM(std::shared_ptr<Gpt> model, text::TokenizerPtr tokenizer, std::string name = "gpt");
  std::string name() const override { return name_; }
  int64_t vocab_size() const override { return model_->config().vocab_size; }
  int64_t context_length() const override { return model_->config().context; }
  std::unique_ptr<llm::KvCache> new_cache(int64_t max_tokens) const override;
  void forward_into(const std::vector<llm::SeqChunk>& chunks, bool all_rows, float* logits) override;
  text::TokenizerPtr tokenizer() const override { return tokenizer_; }
  const std::shared_ptr<Gpt>& model() const { return model_; }

 private:
  std::shared_ptr<Gpt> model_;
  text::TokenizerPtr tokenizer_;
  std::string name_;
  std::vector<float> x_, h_, qkv_, att_, mlp_, scores_;  // scratch
};

// Saves a model dir: config.json (GptConfig + tokenizer kind), model.safetensors, tokenizer.json.
void save_gpt_dir(const std::string& dir, const Gpt& model, const text::Tokenizer& tokenizer);
// Loads what save_gpt_dir wrote. is_gpt_dir: whether `dir` holds such a config.json.
std::shared_ptr<GptLM> load_gpt_dir(const std::string& dir);
bool is_gpt_dir(const std::string& dir);
// Writes a char tokenizer (Forge JSON) or a BPE tokenizer (Hugging Face tokenizer.json).
void save_tokenizer(const text::Tokenizer& tokenizer, const std::string& path);
// Config <-> JSON text (the config.json of a model dir).
std::string gpt_config_json(const GptConfig& config, const std::string& tokenizer_kind);
GptConfig gpt_config_from_json(const std::string& json_text, const std::string& where);

}  // namespace forge::models
