#pragma once
// Llama-family decoder (Llama 2/3, SmolLM/SmolLM2, Mistral-style GQA models) for inference:
// RMSNorm, rotary position embeddings (theta, linear or Llama-3 frequency scaling), grouped-query
// attention with a preallocated KV cache, SwiGLU MLP, optionally tied output embedding.
// Loads from GGUF (quantized weights stay quantized and multiply through the quantized kernels)
// and from a Hugging Face directory (config.json + model.safetensors[.index.json]).
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llm/causal_lm.h"
#include "models/buffered_lm.h"
#include "models/llm_kernels.h"

namespace forge::models {

struct LlamaConfig {
  int64_t n_layer = 0;
  int64_t d_model = 0;
  int64_t n_head = 0;
  int64_t n_kv_head = 0;
  int64_t head_dim = 0;  // d_model / n_head unless the checkpoint says otherwise
  int64_t d_ff = 0;
  int64_t vocab = 0;
  int64_t context = 2048;
  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  // RoPE scaling: "" (none), "linear" (positions / factor) or "llama3" (frequency-dependent).
  std::string rope_scaling;
  float rope_factor = 1.0f;
  float rope_low_freq_factor = 1.0f, rope_high_freq_factor = 4.0f;
  int64_t rope_original_context = 8192;
  // GGUF stores Q/K rows so that RoPE rotates adjacent pairs (x[2i], x[2i+1]); Hugging Face
  // checkpoints rotate the two halves (x[i], x[i + hd/2]).
  bool rope_halves = false;
  std::string name = "llama";
  // Dequantize quantized weights to f32 at load (oneDNN sgemm, f32 activations): ~4-8x the
  // memory, bit-for-bit closer to an f32 reference; used by the reference tests.
  bool dequantize_weights = false;
};

// Rotary inverse frequencies [head_dim / 2] of a config (theta and linear / llama3 scaling);
// shared by LlamaModel and the trainable LoRA model.
std::vector<float> llama_rope_inv_freq(const LlamaConfig& config);

// Role -> tensor name in GGUF and in Hugging Face checkpoints ("{}" = layer index).
struct TensorNameRow {
  const char* role;
  const char* gguf;
  const char* hf;
};
extern const std::vector<TensorNameRow> kLlamaTensorNames;

// Looks a tensor up by role ("attn_q", layer 3) in whatever naming the checkpoint uses.
using TensorLookup = std::function<Tensor(const std::string& role, int64_t layer)>;

class LlamaModel final : public BufferedCausalLM {
 public:
  // `lookup` returns an undefined Tensor for absent optional tensors (the output matrix when the
  // embedding is tied). `keepalive` holds the mapped files the tensors view.
  LlamaModel(LlamaConfig config, const TensorLookup& lookup, text::TokenizerPtr tokenizer,
             std::optional<std::string> chat_template, std::shared_ptr<void> keepalive = {});

  std::string name() const override { return config_.name; }
  int64_t vocab_size() const override { return config_.vocab; }
  int64_t context_length() const override { return config_.context; }
  std::unique_ptr<llm::KvCache> new_cache(int64_t max_tokens) const override;
  text::TokenizerPtr tokenizer() const override { return tokenizer_; }
  std::optional<std::string> chat_template() const override { return chat_template_; }

  // Allocation-free core: runs `chunks` and writes logits into `logits` (rows: every token of
  // every chunk when all_rows, else one row per chunk). Buffers are reused between calls.
  void forward_into(const std::vector<llm::SeqChunk>& chunks, bool all_rows, float* logits) override;
  const LlamaConfig& config() const { return config_; }
  // Prefill chunks of at least `rows` tokens attend with two GEMMs per head instead of the
  // per-token loop decode uses (default 16; tests set 1 or a huge value to pin one path).
  void set_gemm_attention_rows(int64_t rows) { gemm_attention_rows_ = rows; }
  // Bytes of weights streamed per decoded token (for the bandwidth benchmark).
  int64_t weight_bytes() const;

  // Fused decode (llama_decode.cpp, on by default): a forward of at most kFusedDecodeMaxRows
  // rows runs all layers inside ONE OpenMP parallel region, the threads meeting at barriers
  // between phases and each streaming its own share of every weight matrix, instead of one
  // parallel region per matmul (whose fork/join cost dominated multi-thread decode). Its logits
  // and KV cache are bit-identical to the per-op path. Taken when every linear weight is Q4_0,
  // Q4_1 or Q8_0 without bias (packed or not) and no chunk is long enough for GEMM attention.
  static constexpr int64_t kFusedDecodeMaxRows = 8;
  void set_fused_decode(bool on) { fused_decode_ = on; }
  bool fused_decode() const { return fused_decode_; }
  // Whether the weights allow the fused decode at all.
  bool fused_decode_supported() const { return fused_supported_; }
  // Whether the last forward_into took the fused path (for tests and benchmarks).
  bool last_forward_fused() const { return last_forward_fused_; }

 private:
  struct Layer {
    std::vector<float> attn_norm, ffn_norm;
    LinearWeight wq, wk, wv, wo, w_gate, w_up, w_down;
  };
  void ensure_buffers(int64_t rows);
  void attend_gemm(int64_t layer, llm::KvCache& cache, int64_t r0, int64_t n);
  bool fused_weights_supported() const;
  bool fused_decode_applies(const std::vector<llm::SeqChunk>& chunks, int64_t rows) const;
  void forward_fused(const std::vector<llm::SeqChunk>& chunks, int64_t rows, bool all_rows, float* logits);
  int64_t gemm_attention_rows_ = 16;
  bool fused_decode_ = true, fused_supported_ = false, last_forward_fused_ = false;

  LlamaConfig config_;
  Tensor tok_embd_;
  std::shared_ptr<const cpu::PackedQuantMatrix> embd_packed_;  // the tied output's packed copy, or null
  std::vector<float> out_norm_;
  LinearWeight output_;
  std::vector<Layer> layers_;
  std::vector<float> inv_freq_;
  text::TokenizerPtr tokenizer_;
  std::optional<std::string> chat_template_;
  std::shared_ptr<void> keepalive_;
  // scratch (grown, never shrunk)
  int64_t rows_cap_ = 0;
  std::vector<float> x_, h_, q_, k_, v_, att_, gate_, up_, cos_, sin_, scores_, last_, scratch_;
  std::vector<int64_t> pos_;
  // fused decode: per-thread activation blocks, norm output and attention scores
  std::vector<std::vector<cpu::BlockQ8A>> fused_act_;
  std::vector<std::vector<float>> fused_norm_, fused_scores_;
};

// An opened checkpoint before a model is built from it: the parsed config, a lookup of its
// tensors by role (views of the mapped file), tokenizer and chat template. The LoRA trainer and
// adapter merging (models/lora.h) build on this; `keepalive` owns the mapping.
struct LlamaCheckpoint {
  LlamaConfig config;
  TensorLookup lookup;
  text::TokenizerPtr tokenizer;
  std::optional<std::string> chat_template;
  std::shared_ptr<void> keepalive;
};
LlamaCheckpoint open_llama_gguf(const std::string& path);
LlamaCheckpoint open_llama_hf(const std::string& dir);
// A directory opens as Hugging Face, anything else as GGUF.
LlamaCheckpoint open_llama_checkpoint(const std::string& path);
std::shared_ptr<LlamaModel> load_llama(const LlamaCheckpoint& checkpoint);

// Loaders. Errors name the file and what is wrong (missing tensor, wrong architecture, bad shape).
// dequantize_weights: see LlamaConfig::dequantize_weights.
std::shared_ptr<LlamaModel> load_llama_gguf(const std::string& path, bool dequantize_weights = false);
std::shared_ptr<LlamaModel> load_llama_hf(const std::string& dir);

}  // namespace forge::models
