#include "models/llama.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <set>

#include "backend/cpu/gemm.h"
#include "core/error.h"
#include "core/parallel.h"
#include "formats/byte_source.h"
#include "models/llama_cache.h"
#include "ops/quant.h"

namespace forge::models {

const std::vector<TensorNameRow> kLlamaTensorNames = {
    {"tok_embd", "token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm", "output_norm.weight", "model.norm.weight"},
    {"output", "output.weight", "lm_head.weight"},
    {"attn_norm", "blk.{}.attn_norm.weight", "model.layers.{}.input_layernorm.weight"},
    {"attn_q", "blk.{}.attn_q.weight", "model.layers.{}.self_attn.q_proj.weight"},
    {"attn_k", "blk.{}.attn_k.weight", "model.layers.{}.self_attn.k_proj.weight"},
    {"attn_v", "blk.{}.attn_v.weight", "model.layers.{}.self_attn.v_proj.weight"},
    {"attn_output", "blk.{}.attn_output.weight", "model.layers.{}.self_attn.o_proj.weight"},
    {"ffn_norm", "blk.{}.ffn_norm.weight", "model.layers.{}.post_attention_layernorm.weight"},
    {"ffn_gate", "blk.{}.ffn_gate.weight", "model.layers.{}.mlp.gate_proj.weight"},
    {"ffn_up", "blk.{}.ffn_up.weight", "model.layers.{}.mlp.up_proj.weight"},
    {"ffn_down", "blk.{}.ffn_down.weight", "model.layers.{}.mlp.down_proj.weight"},
};

using detail::LlamaCache;
using detail::rope_row;

std::vector<float> llama_rope_inv_freq(const LlamaConfig& c) {
  const int64_t half = c.head_dim / 2;
  std::vector<float> inv(static_cast<size_t>(half));
  for (int64_t j = 0; j < half; ++j) {
    double f =
        std::pow(static_cast<double>(c.rope_theta), -2.0 * static_cast<double>(j) / static_cast<double>(c.head_dim));
    if (c.rope_scaling == "linear") {
      f /= c.rope_factor;
    } else if (c.rope_scaling == "llama3") {
      const double low_wl = static_cast<double>(c.rope_original_context) / c.rope_low_freq_factor;
      const double high_wl = static_cast<double>(c.rope_original_context) / c.rope_high_freq_factor;
      const double wl = 2.0 * std::numbers::pi / f;
      if (wl > low_wl) {
        f /= c.rope_factor;
      } else if (wl >= high_wl) {
        const double smooth = (static_cast<double>(c.rope_original_context) / wl - c.rope_low_freq_factor) /
                              (c.rope_high_freq_factor - c.rope_low_freq_factor);
        f = (1.0 - smooth) * f / c.rope_factor + smooth * f;
      }
    } else {
      FORGE_CHECK(c.rope_scaling.empty(), "[llama] unknown rope scaling '{}' (known: linear, llama3)", c.rope_scaling);
    }
    inv[static_cast<size_t>(j)] = static_cast<float>(f);
  }
  return inv;
}

LlamaModel::LlamaModel(LlamaConfig config, const TensorLookup& lookup, text::TokenizerPtr tokenizer,
                       std::optional<std::string> chat_template, std::shared_ptr<void> keepalive)
    : config_(std::move(config)),
      tokenizer_(std::move(tokenizer)),
      chat_template_(std::move(chat_template)),
      keepalive_(std::move(keepalive)) {
  auto& c = config_;
  FORGE_CHECK(c.n_layer > 0 && c.d_model > 0 && c.n_head > 0 && c.n_kv_head > 0 && c.d_ff > 0 && c.vocab > 0,
              "[llama] invalid config: layers {}, d_model {}, heads {}, kv heads {}, ffn {}, vocab {}", c.n_layer,
              c.d_model, c.n_head, c.n_kv_head, c.d_ff, c.vocab);
  if (c.head_dim == 0) c.head_dim = c.d_model / c.n_head;
  FORGE_CHECK(c.n_head % c.n_kv_head == 0, "[llama] heads {} must be a multiple of kv heads {}", c.n_head, c.n_kv_head);
  FORGE_CHECK(c.head_dim % 2 == 0 && c.head_dim <= 512, "[llama] head dim {} must be even and <= 512", c.head_dim);
  const int64_t qd = c.n_head * c.head_dim, kvd = c.n_kv_head * c.head_dim;

  auto need = [&](const char* role, int64_t layer) {
    Tensor t = lookup(role, layer);
    FORGE_CHECK(t.defined(), "[llama] checkpoint has no tensor for '{}' (layer {})", role, layer);
    return t;
  };
  auto linear = [&](const char* role, int64_t layer, int64_t out, int64_t in) {
    Tensor t = need(role, layer);
    if (c.dequantize_weights && is_quantized(t.dtype())) t = dequantize(t);
    LinearWeight w = make_linear(t, {}, fmt::format("{}.{}", role, layer));
    FORGE_CHECK(w.out == out && w.in == in, "[llama] '{}' (layer {}) must be [{}, {}], got [{}, {}]", role, layer, out,
                in, w.out, w.in);
    return w;
  };
  if (tokenizer_) {
    FORGE_CHECK(tokenizer_->vocab_size() <= c.vocab,
                "[llama] tokenizer has {} tokens but the model only {} embeddings (mismatched tokenizer and model)",
                tokenizer_->vocab_size(), c.vocab);
  }
  tok_embd_ = need("tok_embd", -1);
  FORGE_CHECK(tok_embd_.dim() == 2 && tok_embd_.size(0) == c.vocab && tok_embd_.size(1) == c.d_model,
              "[llama] token embedding must be [{}, {}], got {}", c.vocab, c.d_model, shape_str(tok_embd_));
  out_norm_ = vector_f32(need("output_norm", -1), c.d_model, "output_norm");
  Tensor out = lookup("output", -1);
  const bool tied = !out.defined();
  if (tied) out = tok_embd_;
  if (c.dequantize_weights && is_quantized(out.dtype())) out = dequantize(out);
  output_ = make_linear(out, {}, "output");
  // A packed tied output matrix also serves the embedding rows (bit-exact), so the embedding's
  // file pages, dropped once packed, are not faulted back in row by row while generating.
  if (tied && output_.packed) embd_packed_ = output_.packed;
  layers_.resize(static_cast<size_t>(c.n_layer));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    Layer& L = layers_[static_cast<size_t>(l)];
    L.attn_norm = vector_f32(need("attn_norm", l), c.d_model, "attn_norm");
    L.ffn_norm = vector_f32(need("ffn_norm", l), c.d_model, "ffn_norm");
    L.wq = linear("attn_q", l, qd, c.d_model);
    L.wk = linear("attn_k", l, kvd, c.d_model);
    L.wv = linear("attn_v", l, kvd, c.d_model);
    L.wo = linear("attn_output", l, c.d_model, qd);
    L.w_gate = linear("ffn_gate", l, c.d_ff, c.d_model);
    L.w_up = linear("ffn_up", l, c.d_ff, c.d_model);
    L.w_down = linear("ffn_down", l, c.d_model, c.d_ff);
  }
  inv_freq_ = llama_rope_inv_freq(c);  // rotary frequencies with the checkpoint's scaling
  fused_supported_ = fused_weights_supported();
  // When every weight lives on in a packed copy, nothing reads the mapped checkpoint any more (the
  // norms were copied): drop all its pages, including those that reading the norms and metadata
  // faulted in around them.
  bool all_packed = embd_packed_ != nullptr;
  for (const Layer& L : layers_) {
    for (const LinearWeight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
      all_packed = all_packed && w->packed;
    }
  }
  if (all_packed) release_mapped_file_pages(tok_embd_.raw_data());
}

std::unique_ptr<llm::KvCache> LlamaModel::new_cache(int64_t max_tokens) const {
  FORGE_CHECK(max_tokens > 0 && max_tokens <= config_.context,
              "[llama] cache size {} must be in [1, {}] (the model's context length)", max_tokens, config_.context);
  return std::make_unique<LlamaCache>(this, config_.n_layer, max_tokens, config_.n_kv_head * config_.head_dim);
}

int64_t LlamaModel::weight_bytes() const {
  int64_t total = 0;
  auto add = [&](const LinearWeight& w) {
    total += static_cast<int64_t>(nbytes_for(w.weight.dtype(), w.weight.numel()));
  };
  for (const Layer& L : layers_) {
    for (const LinearWeight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) add(*w);
  }
  add(output_);
  return total;
}

void LlamaModel::ensure_buffers(int64_t rows) {
  if (rows <= rows_cap_) return;
  const auto& c = config_;
  const auto r = static_cast<size_t>(rows);
  const auto qd = static_cast<size_t>(c.n_head * c.head_dim), kvd = static_cast<size_t>(c.n_kv_head * c.head_dim);
  x_.resize(r * static_cast<size_t>(c.d_model));
  h_.resize(r * std::max(static_cast<size_t>(c.d_model), qd));
  q_.resize(r * qd);
  k_.resize(r * kvd);
  v_.resize(r * kvd);
  att_.resize(r * qd);
  gate_.resize(r * static_cast<size_t>(c.d_ff));
  up_.resize(r * static_cast<size_t>(c.d_ff));
  cos_.resize(r * static_cast<size_t>(c.head_dim / 2));
  sin_.resize(r * static_cast<size_t>(c.head_dim / 2));
  last_.resize(r * static_cast<size_t>(c.d_model));
  pos_.resize(r);
  rows_cap_ = rows;
}

// Prefill attention for `n` new rows of one sequence (starting at buffer row r0) as two GEMMs
// per head over the cached positions: S = scale * Q Kᵀ, causal softmax per row, O = S V.
void LlamaModel::attend_gemm(int64_t l, llm::KvCache& kv, int64_t r0, int64_t n) {
  auto& cache = static_cast<LlamaCache&>(kv);
  const auto& c = config_;
  const int64_t hd = c.head_dim, H = c.n_head, qd = H * hd, kvd = c.n_kv_head * hd, group = H / c.n_kv_head;
  const int64_t start = pos_[static_cast<size_t>(r0)], P = start + n;
  if (scores_.size() < static_cast<size_t>(n * P)) scores_.resize(static_cast<size_t>(n * P));
  float* S = scores_.data();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Causal: a block of rows [i0, i1) only sees positions [0, start + i1), so each block multiplies
  // just those columns (about half the work of the full n x P product for a fresh prompt).
  constexpr int64_t kRowBlock = 128;
  for (int64_t h = 0; h < H; ++h) {
    const int64_t kvh = h / group;
    for (int64_t i0 = 0; i0 < n; i0 += kRowBlock) {
      const int64_t i1 = std::min(n, i0 + kRowBlock), rb = i1 - i0, pb = start + i1;
      cpu::sgemm(false, true, rb, pb, hd, scale, q_.data() + (r0 + i0) * qd + h * hd, qd, cache.k(l, 0) + kvh * hd,
                 kvd, 0.0f, S, pb);
      parallel_for(0, rb, 16, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          float* row = S + i * pb;
          const int64_t valid = start + i0 + i + 1;
          softmax_inplace(row, valid);
          std::fill(row + valid, row + pb, 0.0f);
        }
      });
      cpu::sgemm(false, false, rb, hd, pb, 1.0f, S, pb, cache.v(l, 0) + kvh * hd, kvd, 0.0f,
                 att_.data() + (r0 + i0) * qd + h * hd, qd);
    }
  }
}

void LlamaModel::forward_into(const std::vector<llm::SeqChunk>& chunks, bool all_rows, float* logits) {
  const auto& c = config_;
  FORGE_CHECK(!chunks.empty(), "[llama] forward needs at least one sequence");
  int64_t rows = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const auto& ch = chunks[i];
    FORGE_CHECK(ch.tokens != nullptr && !ch.tokens->empty(), "[llama] sequence {} has no new tokens", i);
    auto* cache = dynamic_cast<LlamaCache*>(ch.cache);
    FORGE_CHECK(cache != nullptr && cache->owner_ == this,
                "[llama] sequence {}: the KV cache was not created by this model", i);
    const auto n = static_cast<int64_t>(ch.tokens->size());
    FORGE_CHECK(cache->size_ + n <= cache->capacity_,
                "[llama] sequence {}: {} cached + {} new tokens exceed the cache capacity {}", i, cache->size_, n,
                cache->capacity_);
    for (size_t j = 0; j < i; ++j) {
      FORGE_CHECK(chunks[j].cache != ch.cache, "[llama] sequences {} and {} share one KV cache", j, i);
    }
    for (int32_t id : *ch.tokens) {
      FORGE_CHECK(id >= 0 && id < c.vocab, "[llama] token id {} out of range [0, {})", id, c.vocab);
    }
    rows += n;
  }
  ensure_buffers(rows);
  const int64_t d = c.d_model, hd = c.head_dim, H = c.n_head, KV = c.n_kv_head, half = hd / 2;
  const int64_t qd = H * hd, kvd = KV * hd, group = H / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

  // Embeddings, positions and rotary tables.
  {
    int64_t r = 0;
    for (const auto& ch : chunks) {
      const int64_t start = ch.cache->size();
      for (size_t i = 0; i < ch.tokens->size(); ++i, ++r) {
        if (embd_packed_) {
          embedding_row(*embd_packed_, (*ch.tokens)[i], x_.data() + r * d);
        } else {
          embedding_row(tok_embd_, (*ch.tokens)[i], x_.data() + r * d);
        }
        pos_[static_cast<size_t>(r)] = start + static_cast<int64_t>(i);
        for (int64_t j = 0; j < half; ++j) {
          const float a = static_cast<float>(start + static_cast<int64_t>(i)) * inv_freq_[static_cast<size_t>(j)];
          cos_[static_cast<size_t>(r * half + j)] = std::cos(a);
          sin_[static_cast<size_t>(r * half + j)] = std::sin(a);
        }
      }
    }
  }

  last_forward_fused_ = fused_decode_applies(chunks, rows);
  if (last_forward_fused_) {
    forward_fused(chunks, rows, all_rows, logits);
    return;
  }

  for (int64_t l = 0; l < c.n_layer; ++l) {
    const Layer& L = layers_[static_cast<size_t>(l)];
    rms_norm_rows(x_.data(), rows, d, L.attn_norm.data(), c.rms_eps, h_.data());
    linears_into({{&L.wq, q_.data()}, {&L.wk, k_.data()}, {&L.wv, v_.data()}}, h_.data(), rows, scratch_);
    for (int64_t r = 0; r < rows; ++r) {
      rope_row(q_.data() + r * qd, H, hd, cos_.data() + r * half, sin_.data() + r * half, c.rope_halves);
      rope_row(k_.data() + r * kvd, KV, hd, cos_.data() + r * half, sin_.data() + r * half, c.rope_halves);
    }
    // Append K/V to each sequence's cache, then attend (causal) over its cached positions.
    int64_t r0 = 0;
    for (const auto& ch : chunks) {
      auto* cache = static_cast<LlamaCache*>(ch.cache);
      const auto n = static_cast<int64_t>(ch.tokens->size());
      for (int64_t i = 0; i < n; ++i) {
        const int64_t p = pos_[static_cast<size_t>(r0 + i)];
        std::memcpy(cache->k(l, p), k_.data() + (r0 + i) * kvd, static_cast<size_t>(kvd) * sizeof(float));
        std::memcpy(cache->v(l, p), v_.data() + (r0 + i) * kvd, static_cast<size_t>(kvd) * sizeof(float));
      }
      if (n >= gemm_attention_rows_) {
        attend_gemm(l, *cache, r0, n);
        r0 += n;
        continue;
      }
      // Tasks are (row, KV head) pairs; a thread's consecutive KV heads of one row go in one call.
      parallel_for(0, n * KV, 1, [&](int64_t lo, int64_t hi) {
        thread_local std::vector<float> scores;  // grows to the cache capacity once
        const auto need = static_cast<size_t>(H * cache->capacity());
        if (scores.size() < need) scores.resize(need);
        for (int64_t task = lo; task < hi;) {
          const int64_t i = task / KV, kv0 = task % KV, kv1 = std::min(KV, kv0 + (hi - task));
          const int64_t p = pos_[static_cast<size_t>(r0 + i)];
          const int64_t off = (r0 + i) * qd + kv0 * group * hd;
          attend_cached(q_.data() + off, kv1 - kv0, group, hd, cache->k(l, 0) + kv0 * hd, cache->v(l, 0) + kv0 * hd,
                        kvd, p + 1, scale, scores.data(), att_.data() + off);
          task += kv1 - kv0;
        }
      });
      r0 += n;
    }
    linear_into(L.wo, att_.data(), rows, h_.data(), scratch_);
    for (int64_t i = 0; i < rows * d; ++i) x_[static_cast<size_t>(i)] += h_[static_cast<size_t>(i)];
    rms_norm_rows(x_.data(), rows, d, L.ffn_norm.data(), c.rms_eps, h_.data());
    linears_into({{&L.w_gate, gate_.data()}, {&L.w_up, up_.data()}}, h_.data(), rows, scratch_);
    silu_mul(gate_.data(), up_.data(), rows * c.d_ff);
    linear_into(L.w_down, gate_.data(), rows, h_.data(), scratch_);
    for (int64_t i = 0; i < rows * d; ++i) x_[static_cast<size_t>(i)] += h_[static_cast<size_t>(i)];
  }
  for (const auto& ch : chunks) {
    static_cast<LlamaCache*>(ch.cache)->size_ += static_cast<int64_t>(ch.tokens->size());
  }
  // Final norm on the rows whose logits are wanted, then the output projection.
  int64_t out_rows = 0;
  if (all_rows) {
    rms_norm_rows(x_.data(), rows, d, out_norm_.data(), c.rms_eps, last_.data());
    out_rows = rows;
  } else {
    int64_t r = 0;
    for (const auto& ch : chunks) {
      r += static_cast<int64_t>(ch.tokens->size());
      rms_norm_rows(x_.data() + (r - 1) * d, 1, d, out_norm_.data(), c.rms_eps, last_.data() + out_rows * d);
      ++out_rows;
    }
  }
  linear_into(output_, last_.data(), out_rows, logits, scratch_);
}

}  // namespace forge::models
