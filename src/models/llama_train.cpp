#include "models/llama_train.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "nn/init.h"
#include "ops/attention.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/index.h"
#include "ops/linalg.h"
#include "ops/norm.h"
#include "ops/quant.h"
#include "ops/view.h"

namespace forge::models {

namespace {

Tensor frozen_f32(const Tensor& t) {
  Tensor f = is_quantized(t.dtype()) ? dequantize(t) : t.to(DType::kF32);
  return f.contiguous().clone();  // own the memory (never a view of the mapped file)
}

// Overwrites a contiguous f32 parameter in place (keeps its identity for the optimizer).
void copy_into(const Tensor& dst, const Tensor& src) {
  const Tensor s = src.to(DType::kF32).contiguous();
  std::copy(s.data<float>(), s.data<float>() + s.numel(), dst.data<float>());
}

}  // namespace

Tensor lora_linear(const Tensor& x, const Tensor& weight, const Tensor& a, const Tensor& b, double scale,
                   double dropout_p, bool training, Generator* gen) {
  FORGE_CHECK(weight.dim() == 2 && a.dim() == 2 && b.dim() == 2,
              "[lora_linear] weight, lora_A and lora_B must be 2-d, got {}, {}, {}", shape_str(weight), shape_str(a),
              shape_str(b));
  FORGE_CHECK(a.size(1) == weight.size(1) && b.size(0) == weight.size(0) && b.size(1) == a.size(0),
              "[lora_linear] lora_A {} and lora_B {} do not fit weight {} (need A [r, in], B [out, r])", shape_str(a),
              shape_str(b), shape_str(weight));
  FORGE_CHECK(x.dim() >= 1 && x.shape().back() == weight.size(1), "[lora_linear] input {} does not end in {} features",
              shape_str(x), weight.size(1));
  const Tensor base = linear(x, weight);
  const Tensor lx = dropout_p > 0 ? dropout(x, dropout_p, training, gen) : x;
  return base + linear(linear(lx, a), b) * scale;
}

LlamaLoraModel::LlamaLoraModel(const LlamaCheckpoint& base, const LoraConfig& lora, uint64_t seed)
    : config_(base.config), lora_(lora), gen_(seed) {
  check_lora_config(lora_);
  auto& c = config_;
  FORGE_CHECK(c.n_layer > 0 && c.d_model > 0 && c.n_head > 0 && c.n_kv_head > 0 && c.n_head % c.n_kv_head == 0,
              "[llama] invalid config: layers {}, d_model {}, heads {}, kv heads {}", c.n_layer, c.d_model, c.n_head,
              c.n_kv_head);
  if (c.head_dim == 0) c.head_dim = c.d_model / c.n_head;
  NoGradGuard no_grad;
  auto need = [&](const char* role, int64_t layer) {
    Tensor t = base.lookup(role, layer);
    FORGE_CHECK(t.defined(), "[llama] checkpoint has no tensor for '{}' (layer {})", role, layer);
    return frozen_f32(t);
  };
  tok_embd_ = need("tok_embd", -1);
  FORGE_CHECK(tok_embd_.dim() == 2 && tok_embd_.size(0) == c.vocab && tok_embd_.size(1) == c.d_model,
              "[llama] token embedding must be [{}, {}], got {}", c.vocab, c.d_model, shape_str(tok_embd_));
  out_norm_ = need("output_norm", -1);
  const Tensor out = base.lookup("output", -1);
  output_ = out.defined() ? frozen_f32(out) : tok_embd_;
  const int64_t qd = c.n_head * c.head_dim, kvd = c.n_kv_head * c.head_dim;
  const int64_t shapes[7][2] = {{qd, c.d_model},     {kvd, c.d_model},    {kvd, c.d_model},   {c.d_model, qd},
                                {c.d_ff, c.d_model}, {c.d_ff, c.d_model}, {c.d_model, c.d_ff}};
  layers_.resize(static_cast<size_t>(c.n_layer));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    Layer& L = layers_[static_cast<size_t>(l)];
    L.attn_norm = need("attn_norm", l);
    L.ffn_norm = need("ffn_norm", l);
    for (size_t m = 0; m < kLoraModules.size(); ++m) {
      Slot& s = L.slots[m];
      s.weight = need(kLoraModules[m].role, l);
      FORGE_CHECK(s.weight.dim() == 2 && s.weight.size(0) == shapes[m][0] && s.weight.size(1) == shapes[m][1],
                  "[llama] '{}' (layer {}) must be [{}, {}], got {}", kLoraModules[m].role, l, shapes[m][0],
                  shapes[m][1], shape_str(s.weight));
    }
  }
  // LoRA slots in layer-major order so the seed reproduces the same A matrices.
  for (int64_t l = 0; l < c.n_layer; ++l) {
    for (size_t m = 0; m < kLoraModules.size(); ++m) {
      bool targeted = false;
      for (const auto& t : lora_.target_modules) targeted = targeted || t == kLoraModules[m].module;
      if (!targeted) continue;
      Slot& s = layers_[static_cast<size_t>(l)].slots[m];
      s.a = zeros({lora_.rank, s.weight.size(1)});
      nn::init::he_uniform_(s.a, gen_, nn::init::FanMode::kFanIn, std::sqrt(1.0 / 3.0));
      s.b = zeros({s.weight.size(0), lora_.rank});
      s.a.set_requires_grad(true);
      s.b.set_requires_grad(true);
    }
  }
  inv_freq_ = llama_rope_inv_freq(c);
}

Tensor LlamaLoraModel::proj(const Slot& s, const Tensor& x) {
  if (!s.a.defined()) return linear(x, s.weight);
  return lora_linear(x, s.weight, s.a, s.b, lora_.scale(), lora_.dropout, training_, &gen_);
}

// x [B, H, T, hd]; cos/sin [T, hd/2]. GGUF rotates adjacent pairs, Hugging Face the two halves.
Tensor LlamaLoraModel::rope(const Tensor& x, const Tensor& cos, const Tensor& sin) const {
  const int64_t B = x.size(0), H = x.size(1), T = x.size(2), hd = x.size(3), half = hd / 2;
  if (config_.rope_halves) {
    const Tensor x1 = slice(x, 3, 0, half), x2 = slice(x, 3, half, hd);
    return concat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, 3);
  }
  const Tensor pairs = x.reshape({B, H, T, half, 2});
  const Tensor x0 = select(pairs, 4, 0), x1 = select(pairs, 4, 1);
  return stack({x0 * cos - x1 * sin, x0 * sin + x1 * cos}, 4).reshape({B, H, T, hd});
}

Tensor LlamaLoraModel::hidden(const Tensor& ids) {
  const auto& c = config_;
  FORGE_CHECK(ids.dim() == 2, "[llama] ids must be [batch, time], got {}", shape_str(ids));
  const int64_t B = ids.size(0), T = ids.size(1), hd = c.head_dim, H = c.n_head, KV = c.n_kv_head, half = hd / 2;
  FORGE_CHECK(T > 0 && T <= c.context, "[llama] sequence length {} must be in [1, {}]", T, c.context);
  Tensor cos = empty({T, half}), sin = empty({T, half});
  for (int64_t t = 0; t < T; ++t) {
    for (int64_t j = 0; j < half; ++j) {
      const float a = static_cast<float>(t) * inv_freq_[static_cast<size_t>(j)];
      cos.data<float>()[t * half + j] = std::cos(a);
      sin.data<float>()[t * half + j] = std::sin(a);
    }
  }
  const int64_t group = H / KV;
  Tensor x = embedding(ids, tok_embd_);  // [B, T, d]
  for (const Layer& L : layers_) {
    const Tensor h = rms_norm(x, {c.d_model}, L.attn_norm, c.rms_eps);
    // [B, T, heads * hd] -> [B, heads, T, hd]
    Tensor q = transpose(proj(L.slots[0], h).reshape({B, T, H, hd}), 1, 2);
    Tensor k = transpose(proj(L.slots[1], h).reshape({B, T, KV, hd}), 1, 2);
    Tensor v = transpose(proj(L.slots[2], h).reshape({B, T, KV, hd}), 1, 2);
    q = rope(q, cos, sin);
    k = rope(k, cos, sin);
    if (group > 1) {  // grouped-query attention: each kv head serves `group` query heads
      k = expand(unsqueeze(k, 2), {B, KV, group, T, hd}).reshape({B, H, T, hd});
      v = expand(unsqueeze(v, 2), {B, KV, group, T, hd}).reshape({B, H, T, hd});
    }
    const Tensor att = scaled_dot_product_attention(q, k, v, Tensor(), true);
    x = x + proj(L.slots[3], transpose(att, 1, 2).reshape({B, T, H * hd}));
    const Tensor f = rms_norm(x, {c.d_model}, L.ffn_norm, c.rms_eps);
    x = x + proj(L.slots[6], silu(proj(L.slots[4], f)) * proj(L.slots[5], f));
  }
  return rms_norm(x, {c.d_model}, out_norm_, c.rms_eps);
}

Tensor LlamaLoraModel::head(const Tensor& h) const { return linear(h, output_); }

NamedTensors LlamaLoraModel::parameters() const {
  NamedTensors out;
  for (size_t l = 0; l < layers_.size(); ++l) {
    for (size_t m = 0; m < kLoraModules.size(); ++m) {
      const Slot& s = layers_[l].slots[m];
      if (!s.a.defined()) continue;
      const std::string p = lora_tensor_prefix(kLoraModules[m].module, static_cast<int64_t>(l));
      out.push_back({p + ".lora_A.weight", s.a});
      out.push_back({p + ".lora_B.weight", s.b});
    }
  }
  return out;
}

LoraAdapter LlamaLoraModel::adapter(const std::string& base_model_name) const {
  LoraAdapter a;
  a.config = lora_;
  a.base_model = base_model_name;
  NoGradGuard no_grad;
  for (size_t l = 0; l < layers_.size(); ++l) {
    for (size_t m = 0; m < kLoraModules.size(); ++m) {
      const Slot& s = layers_[l].slots[m];
      if (!s.a.defined()) continue;
      const std::string module = kLoraModules[m].module;
      a.weights[{module, static_cast<int64_t>(l)}] = {s.a.detach().clone(),
                                                      lora_b_to_hf(s.b.detach(), module, config_).clone()};
    }
  }
  return a;
}

void LlamaLoraModel::load_adapter(const LoraAdapter& adapter) {
  NoGradGuard no_grad;
  for (const auto& [key, p] : adapter.weights) {
    const auto& [module, layer] = key;
    FORGE_CHECK(layer >= 0 && layer < config_.n_layer,
                "[lora] adapter/base shape mismatch: {} has layer {} but the base has {}", module, layer,
                config_.n_layer);
    const LoraModuleRow& row = lora_module(module);
    size_t m = 0;
    while (kLoraModules[m].module != row.module) ++m;
    Slot& s = layers_[static_cast<size_t>(layer)].slots[m];
    FORGE_CHECK(s.a.defined(), "[lora] the adapter has {} (layer {}) but the model does not target it", module, layer);
    FORGE_CHECK(p.a.shape() == s.a.shape() && p.b.shape() == s.b.shape(),
                "[lora] adapter/base shape mismatch: {} layer {}: lora_A {} / lora_B {}, the model expects {} / {}",
                module, layer, shape_str(p.a), shape_str(p.b), shape_str(s.a), shape_str(s.b));
    copy_into(s.a, p.a);
    copy_into(s.b, lora_b_for_base(p.b, module, config_));
  }
  lora_.alpha = adapter.config.alpha;
}

}  // namespace forge::models
