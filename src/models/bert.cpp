#include "models/bert.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "backend/cpu/gemm_bf16.h"
#include "core/error.h"
#include "core/parallel.h"
#include "models/checkpoint_tokenizer.h"

namespace forge::models {

const std::vector<std::pair<const char*, const char*>> kBertTensorNames = {
    {"word_embd", "embeddings.word_embeddings.weight"},
    {"pos_embd", "embeddings.position_embeddings.weight"},
    {"type_embd", "embeddings.token_type_embeddings.weight"},
    {"embd_norm.weight", "embeddings.LayerNorm.weight"},
    {"embd_norm.bias", "embeddings.LayerNorm.bias"},
    {"attn_q", "encoder.layer.{}.attention.self.query"},
    {"attn_k", "encoder.layer.{}.attention.self.key"},
    {"attn_v", "encoder.layer.{}.attention.self.value"},
    {"attn_output", "encoder.layer.{}.attention.output.dense"},
    {"attn_output_norm", "encoder.layer.{}.attention.output.LayerNorm"},
    {"ffn_up", "encoder.layer.{}.intermediate.dense"},
    {"ffn_down", "encoder.layer.{}.output.dense"},
    {"layer_output_norm", "encoder.layer.{}.output.LayerNorm"},
};

namespace {

std::string bert_name(const HfCheckpoint& ck, const std::string& role, int64_t layer, const char* suffix) {
  for (const auto& [r, pattern] : kBertTensorNames) {
    if (role != r) continue;
    std::string s = pattern;
    if (auto at = s.find("{}"); at != std::string::npos) s.replace(at, 2, std::to_string(layer));
    s += suffix;
    if (!ck.has(s) && ck.has("bert." + s)) s = "bert." + s;
    return s;
  }
  FORGE_CHECK(false, "[bert] unknown tensor role '{}'", role);
  return {};
}

// One [sum(out), in] f32 weight (and bias) from several linears over the same input.
LinearWeight stack_linears(std::initializer_list<const LinearWeight*> parts, const std::string& what) {
  const int64_t in = (*parts.begin())->in;
  int64_t out = 0;
  for (const LinearWeight* p : parts) out += p->out;
  std::vector<float> w, b;
  w.reserve(static_cast<size_t>(out * in));
  b.reserve(static_cast<size_t>(out));
  for (const LinearWeight* p : parts) {
    FORGE_CHECK(p->in == in && p->weight.dtype() == DType::kF32 && !p->transposed,
                "[bert] {}: cannot stack a [{}, {}] {} weight with [*, {}] ones", what, p->out, p->in,
                dtype_name(p->weight.dtype()), in);
    const float* pw = p->weight.data<float>();
    w.insert(w.end(), pw, pw + p->out * in);
    if (p->bias.defined()) {
      const float* pb = p->bias.data<float>();
      b.insert(b.end(), pb, pb + p->out);
    } else {
      b.insert(b.end(), static_cast<size_t>(p->out), 0.0f);
    }
  }
  return make_linear(from_vector(w, {out, in}), from_vector(b, {out}), what);
}

const float* bias_of(const LinearWeight& w) { return w.bias.defined() ? w.bias.data<float>() : nullptr; }

}  // namespace

void BertModel::gemm_rows(const LinearWeight& w, const float* x, int64_t m, float* y) const {
  // Every BERT weight is f32 [out, in] (make_linear converts f16/bf16 checkpoints).
  cpu::gemm(bf16_, false, true, m, w.out, w.in, 1.0f, x, w.in, w.weight.data<float>(), w.in, 0.0f, y, w.out);
}

BertModel::BertModel(BertConfig config, std::shared_ptr<HfCheckpoint> ckpt, text::TokenizerPtr tokenizer)
    : config_(std::move(config)), ckpt_(std::move(ckpt)), tokenizer_(std::move(tokenizer)) {
  const auto& c = config_;
  const auto& ck = *ckpt_;
  FORGE_CHECK(c.d_model % c.n_head == 0, "[bert] hidden size {} is not a multiple of the {} heads", c.d_model,
              c.n_head);
  auto t = [&](const char* role, int64_t layer, const char* suffix) {
    return ck.at(bert_name(ck, role, layer, suffix));
  };
  auto lin = [&](const char* role, int64_t layer, int64_t out, int64_t in) {
    LinearWeight w =
        make_linear(t(role, layer, ".weight"), t(role, layer, ".bias"), bert_name(ck, role, layer, ".weight"));
    FORGE_CHECK(w.out == out && w.in == in, "[bert] {} must be [{}, {}], got [{}, {}]",
                bert_name(ck, role, layer, ".weight"), out, in, w.out, w.in);
    FORGE_CHECK(w.weight.dtype() == DType::kF32 && !w.packed, "[bert] {} must be a float tensor, got {}",
                bert_name(ck, role, layer, ".weight"), dtype_name(w.weight.dtype()));
    return w;
  };
  auto table = [&](const char* role, int64_t rows) {
    Tensor w = t(role, -1, "").to(DType::kF32).contiguous();
    FORGE_CHECK(w.dim() == 2 && w.size(0) >= rows && w.size(1) == c.d_model, "[bert] {} must be [{}, {}], got {}",
                bert_name(ck, role, -1, ""), rows, c.d_model, shape_str(w));
    return w;
  };
  word_ = table("word_embd", c.vocab);
  pos_ = table("pos_embd", c.max_positions);
  type_ = table("type_embd", 1);
  emb_ln_g_ = vector_f32(t("embd_norm.weight", -1, ""), c.d_model, "embeddings.LayerNorm.weight");
  emb_ln_b_ = vector_f32(t("embd_norm.bias", -1, ""), c.d_model, "embeddings.LayerNorm.bias");
  for (int64_t l = 0; l < c.n_layer; ++l) {
    Layer L;
    const LinearWeight q = lin("attn_q", l, c.d_model, c.d_model);
    const LinearWeight k = lin("attn_k", l, c.d_model, c.d_model);
    const LinearWeight v = lin("attn_v", l, c.d_model, c.d_model);
    L.qkv = stack_linears({&q, &k, &v}, bert_name(ck, "attn_q", l, ".weight"));
    L.o = lin("attn_output", l, c.d_model, c.d_model);
    L.up = lin("ffn_up", l, c.d_ff, c.d_model);
    L.down = lin("ffn_down", l, c.d_model, c.d_ff);
    L.ln1_g = vector_f32(t("attn_output_norm", l, ".weight"), c.d_model, "attention LayerNorm");
    L.ln1_b = vector_f32(t("attn_output_norm", l, ".bias"), c.d_model, "attention LayerNorm");
    L.ln2_g = vector_f32(t("layer_output_norm", l, ".weight"), c.d_model, "output LayerNorm");
    L.ln2_b = vector_f32(t("layer_output_norm", l, ".bias"), c.d_model, "output LayerNorm");
    layers_.push_back(std::move(L));
  }
}

std::vector<std::vector<float>> BertModel::embed_ids(const std::vector<std::vector<int32_t>>& ids) {
  const auto& c = config_;
  const int64_t d = c.d_model, H = c.n_head, hd = d / H;
  int64_t rows = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto n = static_cast<int64_t>(ids[i].size());
    FORGE_CHECK(n > 0, "[bert] text {} has no tokens", i);
    FORGE_CHECK(n <= c.max_positions, "[bert] text {} has {} tokens, more than the model's maximum {}", i, n,
                c.max_positions);
    for (int32_t id : ids[i])
      FORGE_CHECK(id >= 0 && id < c.vocab, "[bert] text {}: token id {} out of range [0, {})", i, id, c.vocab);
    rows += n;
  }
  if (rows == 0) return {};
  const auto R = static_cast<size_t>(rows);
  if (x_.size() < R * static_cast<size_t>(d)) {
    for (auto* b : {&x_, &att_, &h_}) b->resize(R * static_cast<size_t>(d));
    qkv_.resize(R * static_cast<size_t>(3 * d));
    ff_.resize(R * static_cast<size_t>(c.d_ff));
  }
  {
    const float* W = word_.data<float>();
    const float* P = pos_.data<float>();
    const float* T = type_.data<float>();
    int64_t r = 0;
    for (const auto& seq : ids) {
      for (size_t i = 0; i < seq.size(); ++i, ++r) {
        float* xr = x_.data() + r * d;
        for (int64_t j = 0; j < d; ++j) xr[j] = W[seq[i] * d + j] + P[static_cast<int64_t>(i) * d + j] + T[j];
      }
    }
    layer_norm_rows(x_.data(), rows, d, emb_ln_g_.data(), emb_ln_b_.data(), c.ln_eps, x_.data());
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const int64_t ld = 3 * d;
  std::vector<int64_t> starts(ids.size() + 1, 0);
  for (size_t s = 0; s < ids.size(); ++s) starts[s + 1] = starts[s] + static_cast<int64_t>(ids[s].size());
  const auto n_seq = static_cast<int64_t>(ids.size());
  for (const Layer& L : layers_) {
    // One GEMM for q, k and v over all rows, then attention per (sequence, head): two small
    // GEMMs and a row softmax each (no padding: every sequence attends over its own tokens).
    gemm_rows(L.qkv, x_.data(), rows, qkv_.data());
    bias_act_rows(qkv_.data(), bias_of(L.qkv), rows, L.qkv.out, false, false);
    parallel_for(0, n_seq * H, 1, [&](int64_t lo, int64_t hi) {
      thread_local std::vector<float> scores;
      for (int64_t task = lo; task < hi; ++task) {
        const int64_t s = task / H, h = task % H;
        const int64_t r0 = starts[static_cast<size_t>(s)], n = starts[static_cast<size_t>(s) + 1] - r0;
        if (scores.size() < static_cast<size_t>(n * n)) scores.resize(static_cast<size_t>(n * n));
        const float* base = qkv_.data() + r0 * ld + h * hd;
        attend_full(base, base + d, base + 2 * d, ld, n, hd, scale, att_.data() + r0 * d + h * hd, d,
                    scores.data());
      }
    });
    // The bias adds, GELU and residual adds ride along with passes the data needs anyway.
    gemm_rows(L.o, att_.data(), rows, h_.data());
    add_layer_norm_rows(x_.data(), h_.data(), bias_of(L.o), rows, d, L.ln1_g.data(), L.ln1_b.data(), c.ln_eps);
    gemm_rows(L.up, x_.data(), rows, ff_.data());
    bias_act_rows(ff_.data(), bias_of(L.up), rows, c.d_ff, true, c.gelu_tanh);
    gemm_rows(L.down, ff_.data(), rows, h_.data());
    add_layer_norm_rows(x_.data(), h_.data(), bias_of(L.down), rows, d, L.ln2_g.data(), L.ln2_b.data(), c.ln_eps);
  }
  std::vector<std::vector<float>> out;
  out.reserve(ids.size());
  int64_t r0 = 0;
  for (const auto& seq : ids) {
    const auto n = static_cast<int64_t>(seq.size());
    std::vector<float> e(static_cast<size_t>(d), 0.0f);
    if (c.pooling == "cls") {
      std::memcpy(e.data(), x_.data() + r0 * d, static_cast<size_t>(d) * sizeof(float));
    } else {
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t j = 0; j < d; ++j) e[static_cast<size_t>(j)] += x_[static_cast<size_t>((r0 + i) * d + j)];
      }
      for (float& v : e) v /= static_cast<float>(n);
    }
    if (c.normalize) {
      double ss = 0.0;
      for (float v : e) ss += static_cast<double>(v) * v;
      const auto inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
      for (float& v : e) v *= inv;
    }
    out.push_back(std::move(e));
    r0 += n;
  }
  return out;
}

std::vector<std::vector<float>> BertModel::embed(const std::vector<std::string>& texts) {
  FORGE_CHECK(tokenizer_ != nullptr, "[bert] {}: the model has no tokenizer", config_.name);
  std::vector<std::vector<int32_t>> ids;
  ids.reserve(texts.size());
  for (const auto& t : texts) ids.push_back(tokenizer_->encode(t, /*add_special_tokens=*/true));
  return embed_ids(ids);
}

std::shared_ptr<BertModel> load_bert(const std::string& dir) {
  namespace fs = std::filesystem;
  auto ck = std::make_shared<HfCheckpoint>(load_hf_checkpoint(dir));
  const auto& j = ck->config;
  const std::string type = j.value("model_type", "");
  FORGE_CHECK(type == "bert", "[bert] {}: model_type '{}' is not a BERT encoder (expected bert)", dir, type);
  BertConfig c;
  c.name = fs::path(dir).filename().string();
  if (c.name.empty()) c.name = fs::path(dir).parent_path().filename().string();
  c.n_layer = hf_int(*ck, "num_hidden_layers");
  c.d_model = hf_int(*ck, "hidden_size");
  c.n_head = hf_int(*ck, "num_attention_heads");
  c.d_ff = hf_int(*ck, "intermediate_size");
  c.vocab = hf_int(*ck, "vocab_size");
  c.max_positions = j.value("max_position_embeddings", int64_t{512});
  c.ln_eps = j.value("layer_norm_eps", 1e-12f);
  const std::string act = j.value("hidden_act", "gelu");
  FORGE_CHECK(act == "gelu" || act == "gelu_new" || act == "gelu_pytorch_tanh",
              "[bert] {}: hidden_act '{}' is not supported (gelu, gelu_new)", dir, act);
  c.gelu_tanh = act != "gelu";
  const fs::path pool = fs::path(dir) / "1_Pooling" / "config.json";
  if (fs::exists(pool)) {
    std::ifstream in(pool);
    const auto p = nlohmann::json::parse(in, nullptr, false);
    FORGE_CHECK(!p.is_discarded(), "[bert] {}: invalid JSON", pool.string());
    if (p.value("pooling_mode_cls_token", false)) c.pooling = "cls";
    FORGE_CHECK(!p.value("pooling_mode_max_tokens", false) && !p.value("pooling_mode_mean_sqrt_len_tokens", false),
                "[bert] {}: only mean and CLS pooling are supported", pool.string());
  }
  c.normalize = false;
  const fs::path modules = fs::path(dir) / "modules.json";
  if (fs::exists(modules)) {
    std::ifstream in(modules);
    const auto m = nlohmann::json::parse(in, nullptr, false);
    FORGE_CHECK(!m.is_discarded() && m.is_array(), "[bert] {}: expected a JSON array", modules.string());
    for (const auto& mod : m) {
      if (mod.value("type", "").find("Normalize") != std::string::npos) c.normalize = true;
    }
  }
  text::TokenizerPtr tok = tokenizer_from_hf_dir(dir);
  return std::make_shared<BertModel>(c, ck, tok);
}

}  // namespace forge::models
