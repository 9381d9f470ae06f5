#include "models/gpt2.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/parallel.h"
#include "models/checkpoint_tokenizer.h"

namespace forge::models {

const std::vector<std::pair<const char*, const char*>> kGpt2TensorNames = {
    {"tok_embd", "wte.weight"},       {"pos_embd", "wpe.weight"},          {"attn_norm", "h.{}.ln_1"},
    {"attn_qkv", "h.{}.attn.c_attn"}, {"attn_output", "h.{}.attn.c_proj"}, {"ffn_norm", "h.{}.ln_2"},
    {"ffn_up", "h.{}.mlp.c_fc"},      {"ffn_down", "h.{}.mlp.c_proj"},     {"output_norm", "ln_f"},
};

namespace {

class Gpt2Cache final : public llm::KvCache {
 public:
  Gpt2Cache(const void* owner, int64_t layers, int64_t cap, int64_t d)
      : owner_(owner), cap_(cap), d_(d), k_(static_cast<size_t>(layers * cap * d)), v_(k_.size()) {}
  int64_t size() const override { return size_; }
  int64_t capacity() const override { return cap_; }
  void truncate(int64_t n) override {
    FORGE_CHECK(n >= 0, "[kv_cache] truncate to a negative size {}", n);
    size_ = std::min(size_, n);
  }
  float* k(int64_t l, int64_t p) { return k_.data() + (l * cap_ + p) * d_; }
  float* v(int64_t l, int64_t p) { return v_.data() + (l * cap_ + p) * d_; }
  const void* owner_;
  int64_t size_ = 0, cap_, d_;
  std::vector<float> k_, v_;
};

std::string gpt2_name(const HfCheckpoint& ck, const char* role, int64_t layer, const char* suffix) {
  for (const auto& [r, pattern] : kGpt2TensorNames) {
    if (std::string(role) != r) continue;
    std::string s = pattern;
    if (auto at = s.find("{}"); at != std::string::npos) s.replace(at, 2, std::to_string(layer));
    s += suffix;
    if (!ck.has(s) && ck.has("transformer." + s)) s = "transformer." + s;
    return s;
  }
  FORGE_CHECK(false, "[gpt2] unknown tensor role '{}'", role);
  return {};
}

}  // namespace

Gpt2Model::Gpt2Model(Gpt2Config config, std::shared_ptr<HfCheckpoint> ckpt, text::TokenizerPtr tokenizer)
    : config_(std::move(config)), ckpt_(std::move(ckpt)), tokenizer_(std::move(tokenizer)) {
  const auto& c = config_;
  const auto& ck = *ckpt_;
  FORGE_CHECK(c.d_model % c.n_head == 0, "[gpt2] n_embd {} is not a multiple of n_head {}", c.d_model, c.n_head);
  if (tokenizer_) {
    FORGE_CHECK(tokenizer_->vocab_size() <= c.vocab,
                "[gpt2] tokenizer has {} tokens but the model only {} embeddings (mismatched tokenizer and model)",
                tokenizer_->vocab_size(), c.vocab);
  }
  auto t = [&](const char* role, int64_t l, const char* suffix) { return ck.at(gpt2_name(ck, role, l, suffix)); };
  auto conv = [&](const char* role, int64_t l, int64_t in, int64_t out) {
    const std::string n = gpt2_name(ck, role, l, ".weight");
    LinearWeight w = make_linear(t(role, l, ".weight").to(DType::kF32), t(role, l, ".bias"), n, /*transposed=*/true);
    FORGE_CHECK(w.in == in && w.out == out, "[gpt2] {} must be [{}, {}] (Conv1D: in, out), got [{}, {}]", n, in, out,
                w.in, w.out);
    return w;
  };
  auto vec = [&](const char* role, int64_t l, const char* suffix) {
    return vector_f32(t(role, l, suffix), c.d_model, gpt2_name(ck, role, l, suffix));
  };
  wte_ = t("tok_embd", -1, "").to(DType::kF32).contiguous();
  wpe_ = t("pos_embd", -1, "").to(DType::kF32).contiguous();
  FORGE_CHECK(wte_.dim() == 2 && wte_.size(0) == c.vocab && wte_.size(1) == c.d_model,
              "[gpt2] wte.weight must be [{}, {}], got {}", c.vocab, c.d_model, shape_str(wte_));
  FORGE_CHECK(wpe_.dim() == 2 && wpe_.size(0) >= c.context && wpe_.size(1) == c.d_model,
              "[gpt2] wpe.weight must be [{}, {}], got {}", c.context, c.d_model, shape_str(wpe_));
  lnf_g_ = vec("output_norm", -1, ".weight");
  lnf_b_ = vec("output_norm", -1, ".bias");
  head_ = make_linear(wte_, {}, "lm_head (tied wte)");
  for (int64_t l = 0; l < c.n_layer; ++l) {
    Layer L;
    L.ln1_g = vec("attn_norm", l, ".weight");
    L.ln1_b = vec("attn_norm", l, ".bias");
    L.ln2_g = vec("ffn_norm", l, ".weight");
    L.ln2_b = vec("ffn_norm", l, ".bias");
    L.qkv = conv("attn_qkv", l, c.d_model, 3 * c.d_model);
    L.proj = conv("attn_output", l, c.d_model, c.d_model);
    L.fc = conv("ffn_up", l, c.d_model, 4 * c.d_model);
    L.fc_proj = conv("ffn_down", l, 4 * c.d_model, c.d_model);
    layers_.push_back(std::move(L));
  }
}

std::unique_ptr<llm::KvCache> Gpt2Model::new_cache(int64_t max_tokens) const {
  FORGE_CHECK(max_tokens > 0 && max_tokens <= config_.context,
              "[gpt2] cache size {} must be in [1, {}] (the model's context length)", max_tokens, config_.context);
  return std::make_unique<Gpt2Cache>(this, config_.n_layer, max_tokens, config_.d_model);
}

void Gpt2Model::forward_into(const std::vector<llm::SeqChunk>& chunks, bool all_rows, float* logits) {
  const auto& c = config_;
  FORGE_CHECK(!chunks.empty(), "[gpt2] forward needs at least one sequence");
  int64_t rows = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    const auto& ch = chunks[i];
    FORGE_CHECK(ch.tokens != nullptr && !ch.tokens->empty(), "[gpt2] sequence {} has no new tokens", i);
    auto* cache = dynamic_cast<Gpt2Cache*>(ch.cache);
    FORGE_CHECK(cache != nullptr && cache->owner_ == this,
                "[gpt2] sequence {}: the KV cache was not created by this model", i);
    const auto n = static_cast<int64_t>(ch.tokens->size());
    FORGE_CHECK(cache->size_ + n <= cache->cap_,
                "[gpt2] sequence {}: {} cached + {} new tokens exceed the cache capacity {}", i, cache->size_, n,
                cache->cap_);
    for (size_t j = 0; j < i; ++j)
      FORGE_CHECK(chunks[j].cache != ch.cache, "[gpt2] sequences {} and {} share one KV cache", j, i);
    for (int32_t id : *ch.tokens)
      FORGE_CHECK(id >= 0 && id < c.vocab, "[gpt2] token id {} out of range [0, {})", id, c.vocab);
    rows += n;
  }
  const int64_t d = c.d_model, H = c.n_head, hd = d / H;
  const auto R = static_cast<size_t>(rows);
  if (pos_.size() < R) {
    x_.resize(R * static_cast<size_t>(d));
    h_.resize(R * static_cast<size_t>(d));
    att_.resize(R * static_cast<size_t>(d));
    last_.resize(R * static_cast<size_t>(d));
    qkv_.resize(R * static_cast<size_t>(3 * d));
    ff_.resize(R * static_cast<size_t>(4 * d));
    pos_.resize(R);
  }
  {
    int64_t r = 0;
    for (const auto& ch : chunks) {
      const int64_t start = ch.cache->size();
      for (size_t i = 0; i < ch.tokens->size(); ++i, ++r) {
        const int64_t p = start + static_cast<int64_t>(i);
        pos_[static_cast<size_t>(r)] = p;
        const float* we = wte_.data<float>() + (*ch.tokens)[i] * d;
        const float* pe = wpe_.data<float>() + p * d;
        for (int64_t j = 0; j < d; ++j) x_[static_cast<size_t>(r * d + j)] = we[j] + pe[j];
      }
    }
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const Layer& L = layers_[static_cast<size_t>(l)];
    layer_norm_rows(x_.data(), rows, d, L.ln1_g.data(), L.ln1_b.data(), c.ln_eps, h_.data());
    linear_into(L.qkv, h_.data(), rows, qkv_.data(), scratch_);
    int64_t r0 = 0;
    for (const auto& ch : chunks) {
      auto* cache = static_cast<Gpt2Cache*>(ch.cache);
      const auto n = static_cast<int64_t>(ch.tokens->size());
      for (int64_t i = 0; i < n; ++i) {
        const int64_t p = pos_[static_cast<size_t>(r0 + i)];
        std::memcpy(cache->k(l, p), qkv_.data() + (r0 + i) * 3 * d + d, static_cast<size_t>(d) * sizeof(float));
        std::memcpy(cache->v(l, p), qkv_.data() + (r0 + i) * 3 * d + 2 * d, static_cast<size_t>(d) * sizeof(float));
      }
      parallel_for(0, n * H, 4, [&](int64_t lo, int64_t hi) {
        std::vector<float> acc(static_cast<size_t>(hd));
        for (int64_t task = lo; task < hi; ++task) {
          const int64_t i = task / H, h = task % H, p = pos_[static_cast<size_t>(r0 + i)];
          const float* qv = qkv_.data() + (r0 + i) * 3 * d + h * hd;
          std::fill(acc.begin(), acc.end(), 0.0f);
          float mx = -INFINITY, sum = 0.0f;
          for (int64_t s = 0; s <= p; ++s) {
            const float* kv = cache->k(l, s) + h * hd;
            float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
            for (int64_t e = 0; e < hd; ++e) dot += qv[e] * kv[e];
            dot *= scale;
            if (dot > mx) {
              const float f = std::exp(mx - dot);
              sum *= f;
              for (auto& a : acc) a *= f;
              mx = dot;
            }
            const float w = std::exp(dot - mx);
            sum += w;
            const float* vv = cache->v(l, s) + h * hd;
            for (int64_t e = 0; e < hd; ++e) acc[static_cast<size_t>(e)] += w * vv[e];
          }
          float* o = att_.data() + (r0 + i) * d + h * hd;
          for (int64_t e = 0; e < hd; ++e) o[e] = acc[static_cast<size_t>(e)] / sum;
        }
      });
      r0 += n;
    }
    linear_into(L.proj, att_.data(), rows, h_.data(), scratch_);
    for (size_t i = 0; i < R * static_cast<size_t>(d); ++i) x_[i] += h_[i];
    layer_norm_rows(x_.data(), rows, d, L.ln2_g.data(), L.ln2_b.data(), c.ln_eps, h_.data());
    linear_into(L.fc, h_.data(), rows, ff_.data(), scratch_);
    gelu_inplace(ff_.data(), rows * 4 * d, /*tanh_approx=*/true);
    linear_into(L.fc_proj, ff_.data(), rows, h_.data(), scratch_);
    for (size_t i = 0; i < R * static_cast<size_t>(d); ++i) x_[i] += h_[i];
  }
  for (const auto& ch : chunks) static_cast<Gpt2Cache*>(ch.cache)->size_ += static_cast<int64_t>(ch.tokens->size());
  int64_t out_rows = 0;
  if (all_rows) {
    layer_norm_rows(x_.data(), rows, d, lnf_g_.data(), lnf_b_.data(), c.ln_eps, last_.data());
    out_rows = rows;
  } else {
    int64_t r = 0;
    for (const auto& ch : chunks) {
      r += static_cast<int64_t>(ch.tokens->size());
      layer_norm_rows(x_.data() + (r - 1) * d, 1, d, lnf_g_.data(), lnf_b_.data(), c.ln_eps,
                      last_.data() + out_rows * d);
      ++out_rows;
    }
  }
  linear_into(head_, last_.data(), out_rows, logits, scratch_);
}

std::shared_ptr<Gpt2Model> load_gpt2(const std::string& dir) {
  auto ck = std::make_shared<HfCheckpoint>(load_hf_checkpoint(dir));
  const auto& j = ck->config;
  const std::string type = j.value("model_type", "");
  FORGE_CHECK(type == "gpt2", "[gpt2] {}: model_type '{}' is not gpt2", dir, type);
  Gpt2Config c;
  c.name = std::filesystem::path(dir).filename().string();
  c.n_layer = hf_int(*ck, "n_layer");
  c.d_model = hf_int(*ck, "n_embd");
  c.n_head = hf_int(*ck, "n_head");
  c.vocab = hf_int(*ck, "vocab_size");
  c.context = hf_int(*ck, "n_positions");
  c.ln_eps = j.value("layer_norm_epsilon", 1e-5f);
  const std::string act = j.value("activation_function", "gelu_new");
  FORGE_CHECK(act == "gelu_new" || act == "gelu_pytorch_tanh", "[gpt2] {}: activation '{}' is not supported (gelu_new)",
              dir, act);
  return std::make_shared<Gpt2Model>(c, ck, tokenizer_from_hf_dir(dir));
}

}  // namespace forge::models
