#pragma once
// Tiny synthetic Llama checkpoints and random LoRA adapters for the LoRA tests.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/random.h"
#include "models/llama.h"
#include "models/lora.h"
#include "nn/init.h"
#include "ops/elementwise.h"

namespace forge::test {

using models::LlamaCheckpoint;
using models::LlamaConfig;
using models::LoraAdapter;

inline Tensor randn(const Shape& shape, Generator& gen, double std = 0.3) {
  Tensor t = empty(shape);
  nn::init::normal_(t, gen, 0.0, std);
  return t;
}

// A tiny random Llama (GQA: 4 heads over 2 kv heads) in Hugging Face layout, or the same
// weights with q/k rows permuted to the GGUF layout (what llama.cpp's converter does).
inline LlamaCheckpoint tiny_checkpoint(bool gguf_layout, uint64_t seed = 7) {
  LlamaConfig c;
  c.n_layer = 2;
  c.d_model = 16;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.head_dim = 4;
  c.d_ff = 24;
  c.vocab = 32;
  c.context = 64;
  c.rms_eps = 1e-5f;
  c.rope_halves = !gguf_layout;
  Generator gen(seed);
  auto weights = std::make_shared<std::map<std::pair<std::string, int64_t>, Tensor>>();
  auto put = [&](const std::string& role, int64_t layer, const Shape& shape) {
    (*weights)[{role, layer}] = randn(shape, gen);
  };
  put("tok_embd", -1, {c.vocab, c.d_model});
  (*weights)[{"output_norm", -1}] = add(randn({c.d_model}, gen, 0.1), 1.0);
  for (int64_t l = 0; l < c.n_layer; ++l) {
    (*weights)[{"attn_norm", l}] = add(randn({c.d_model}, gen, 0.1), 1.0);
    (*weights)[{"ffn_norm", l}] = add(randn({c.d_model}, gen, 0.1), 1.0);
    put("attn_q", l, {16, 16});
    put("attn_k", l, {8, 16});
    put("attn_v", l, {8, 16});
    put("attn_output", l, {16, 16});
    put("ffn_gate", l, {24, 16});
    put("ffn_up", l, {24, 16});
    put("ffn_down", l, {16, 24});
    if (gguf_layout) {
      (*weights)[{"attn_q", l}] = models::rope_rows_hf_to_gguf((*weights)[{"attn_q", l}], c.n_head);
      (*weights)[{"attn_k", l}] = models::rope_rows_hf_to_gguf((*weights)[{"attn_k", l}], c.n_kv_head);
    }
  }
  LlamaCheckpoint ck;
  ck.config = c;
  ck.lookup = [weights](const std::string& role, int64_t layer) {
    auto it = weights->find({role, layer});
    return it == weights->end() ? Tensor() : it->second;
  };
  return ck;
}

// A random adapter (B nonzero) for `targets` on a tiny checkpoint, in Hugging Face row order.
inline LoraAdapter random_adapter(const LlamaCheckpoint& ck, const std::vector<std::string>& targets,
                                  uint64_t seed = 3) {
  LoraAdapter a;
  a.config.rank = 2;
  a.config.alpha = 4;
  a.config.target_modules = targets;
  a.base_model = "tiny";
  Generator gen(seed);
  for (int64_t l = 0; l < ck.config.n_layer; ++l) {
    for (const auto& m : targets) {
      const Tensor w = ck.lookup(models::lora_module(m).role, l);
      a.weights[{m, l}] = {randn({2, w.size(1)}, gen), randn({w.size(0), 2}, gen)};
    }
  }
  return a;
}

}  // namespace forge::test
