#include "models/gpt.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/grad_mode.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/gemv.h"
#include "core/parallel.h"
#include "backend/cpu/gelu.h"
#include "formats/safetensors.h"
#include "nn/init.h"
#include "ops/attention.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linalg.h"
#include "ops/norm.h"
#include "text/bpe.h"
#include "text/char_tokenizer.h"

namespace forge::models {

namespace {

// A leaf holding a layer's tensors under PyTorch's names (weight, bias).
class Params : public nn::Module {
 public:
  explicit Params(std::string kind) : kind_(std::move(kind)) {}
  std::string name() const override { return kind_; }

 private:
  std::string kind_;
};

std::shared_ptr<Params> linear_params(int64_t out, int64_t in, bool bias, Generator& gen, double std) {
  auto p = std::make_shared<Params>("Linear");
  Tensor w = empty({out, in});
  nn::init::normal_(w, gen, 0.0, std);
  p->register_parameter("weight", w);
  if (bias) p->register_parameter("bias", zeros({out}));
  return p;
}

std::shared_ptr<Params> norm_params(int64_t d) {
  auto p = std::make_shared<Params>("LayerNorm");
  p->register_parameter("weight", ones({d}));
  p->register_parameter("bias", zeros({d}));
  return p;
}

std::shared_ptr<Params> embedding_params(int64_t n, int64_t d, Generator& gen) {
  auto p = std::make_shared<Params>("Embedding");
  Tensor w = empty({n, d});
  nn::init::normal_(w, gen, 0.0, 0.02);
  p->register_parameter("weight", w);
  return p;
}

class Block : public nn::Module {
 public:
  Block(const GptConfig& c, Generator& gen) : c_(c) {
    const int64_t d = c.d_model;
    const double out_std = 0.02 / std::sqrt(2.0 * static_cast<double>(c.n_layer));
    register_module("ln1", norm_params(d));
    register_module("ln2", norm_params(d));
    register_module("qkv", linear_params(3 * d, d, true, gen, 0.02));
    register_module("proj", linear_params(d, d, true, gen, out_std));
    register_module("fc", linear_params(4 * d, d, true, gen, 0.02));
    register_module("fc2", linear_params(d, 4 * d, true, gen, out_std));
    for (const auto& [n, m] : named_children()) mods_.push_back(m.get());
  }
  std::string name() const override { return "Block"; }
  Tensor w(int i, const char* n) const { return mods_[static_cast<size_t>(i)]->tensor(n); }

  Tensor forward(const Tensor& x) override {
    const int64_t B = x.shape()[0], T = x.shape()[1], d = c_.d_model, H = c_.n_head, hd = d / H;
    const bool drop = is_training() && c_.dropout > 0.0;
    Tensor h = layer_norm(x, {d}, w(0, "weight"), w(0, "bias"));
    Tensor qkv = linear(h, w(2, "weight"), w(2, "bias"));  // [B, T, 3d]
    // [B, T, 3, H, hd] -> [3, B, H, T, hd]: q, k, v as strided views (no copies).
    Tensor heads = qkv.view({B, T, 3, H, hd}).permute({2, 0, 3, 1, 4});
    Tensor y = scaled_dot_product_attention(heads.select(0, 0), heads.select(0, 1), heads.select(0, 2), Tensor(),
                                            /*causal=*/true);
    y = y.transpose(1, 2).reshape({B, T, d});
    y = linear(y, w(3, "weight"), w(3, "bias"));
    if (drop) y = dropout(y, c_.dropout, true, &generator());
    Tensor x1 = add(x, y);
    Tensor m = layer_norm(x1, {d}, w(1, "weight"), w(1, "bias"));
    m = linear(gelu(linear(m, w(4, "weight"), w(4, "bias"))), w(5, "weight"), w(5, "bias"));
    if (drop) m = dropout(m, c_.dropout, true, &generator());
    return add(x1, m);
  }

 private:
  GptConfig c_;
  std::vector<nn::Module*> mods_;  // ln1, ln2, qkv, proj, fc, fc2
};

}  // namespace

void check_gpt_config(const GptConfig& c) {
  FORGE_CHECK(c.vocab_size > 0, "[gpt] vocab_size must be > 0, got {}", c.vocab_size);
  FORGE_CHECK(c.context > 0, "[gpt] context must be > 0, got {}", c.context);
  FORGE_CHECK(c.n_layer > 0, "[gpt] n_layer must be > 0, got {}", c.n_layer);
  FORGE_CHECK(c.n_head > 0, "[gpt] n_head must be > 0, got {}", c.n_head);
  FORGE_CHECK(c.d_model > 0 && c.d_model % c.n_head == 0, "[gpt] d_model {} must be > 0 and divisible by n_head {}",
              c.d_model, c.n_head);
  FORGE_CHECK(c.dropout >= 0.0 && c.dropout < 1.0, "[gpt] dropout must be in [0, 1), got {}", c.dropout);
}

Gpt::Gpt(GptConfig config, uint64_t seed) : config_(config) {
  check_gpt_config(config_);
  Generator gen(seed);
  const int64_t d = config_.d_model;
  register_module("tok", embedding_params(config_.vocab_size, d, gen));
  register_module("pos", embedding_params(config_.context, d, gen));
  auto blocks = std::make_shared<nn::ModuleList>();
  for (int64_t i = 0; i < config_.n_layer; ++i) blocks->add(std::make_shared<Block>(config_, gen));
  register_module("blocks", blocks);
  register_module("ln", norm_params(d));
  if (!config_.tie_weights) register_module("head", linear_params(config_.vocab_size, d, false, gen, 0.02));
  // Dropout masks come from each module's generator; seed them all from `seed` (a Module's own
  // default seed is drawn from the global generator).
  uint64_t k = 0;
  for (auto& [name, m] : named_modules()) m->generator().manual_seed((seed ^ 0x9e3779b97f4a7c15ULL) + 7919 * k++);
}

Tensor Gpt::head_weight() const {
  const auto& ch = named_children();
  return config_.tie_weights ? ch[0].second->tensor("weight") : ch[4].second->tensor("weight");
}

Tensor Gpt::forward(const Tensor& ids) {
  FORGE_CHECK(ids.dim() == 2, "[gpt] ids must be 2-d [batch, time], got {}", shape_str(ids));
  const int64_t T = ids.shape()[1];
  FORGE_CHECK(T > 0 && T <= config_.context, "[gpt] sequence length {} must be in [1, context {}]", T,
              config_.context);
  const auto& ch = named_children();
  Tensor positions = arange(0, static_cast<double>(T), 1.0, DType::kI64);
  Tensor x = add(embedding(ids, ch[0].second->tensor("weight")), embedding(positions, ch[1].second->tensor("weight")));
  if (is_training() && config_.dropout > 0.0) x = dropout(x, config_.dropout, true, &generator());
  auto& blocks = static_cast<nn::ModuleList&>(*ch[2].second);
  for (size_t i = 0; i < blocks.size(); ++i) x = blocks.at(i)->forward(x);
  const nn::Module& ln = *ch[3].second;
  x = layer_norm(x, {config_.d_model}, ln.tensor("weight"), ln.tensor("bias"));
  return linear(x, head_weight());
}

// ---------------------------------------------------------------- inference with a KV cache

GptCache::GptCache(const GptConfig& c, int64_t capacity) : capacity_(capacity) {
  FORGE_CHECK(capacity > 0 && capacity <= c.context, "[gpt] cache capacity {} must be in [1, context {}]", capacity,
              c.context);
  const size_t per_layer = static_cast<size_t>(capacity * c.d_model);
  k_.assign(static_cast<size_t>(c.n_layer), std::vector<float>(per_layer));
  v_.assign(static_cast<size_t>(c.n_layer), std::vector<float>(per_layer));
}

void GptCache::truncate(int64_t n) {
  FORGE_CHECK(n >= 0, "[gpt] truncate position must be >= 0, got {}", n);
  size_ = std::min(size_, n);
}

GptLM::GptLM(std::shared_ptr<Gpt> model, text::TokenizerPtr tokenizer, std::string name)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), name_(std::move(name)) {
  FORGE_CHECK(model_ != nullptr, "[gpt] GptLM needs a model");
  FORGE_CHECK(!tokenizer_ || tokenizer_->vocab_size() <= model_->config().vocab_size,
              "[gpt] tokenizer vocabulary {} exceeds the model's {}", tokenizer_ ? tokenizer_->vocab_size() : 0,
              model_->config().vocab_size);
}

std::unique_ptr<llm::KvCache> GptLM::new_cache(int64_t max_tokens) const {
  return std::make_unique<GptCache>(model_->config(), max_tokens);
}

namespace {

void layer_norm_rows(const float* x, float* y, int64_t rows, int64_t d, const float* w, const float* b) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    double mean = 0.0;
    for (int64_t i = 0; i < d; ++i) mean += xr[i];
    mean /= static_cast<double>(d);
    double var = 0.0;
    for (int64_t i = 0; i < d; ++i) {
      const double c = xr[i] - mean;
      var += c * c;
    }
    var /= static_cast<double>(d);
    const auto m = static_cast<float>(mean);
    const auto inv = static_cast<float>(1.0 / std::sqrt(var + 1e-5));
    for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - m) * inv * w[i] + b[i];
  }
}

constexpr int64_t kGemvMaxRows = 4;

// y[rows, out] (+)= x[rows, in] @ w[out, in]^T + bias
void linear_rows(const float* x, int64_t rows, int64_t in, const float* w, int64_t out, const float* bias, float* y,
                 bool accumulate) {
  if (rows <= kGemvMaxRows) {
    // Decoding: a few rows; dot products over the weight rows beat oneDNN's GEMM setup. With
    // more than one thread each streams its own block of weight rows (>= 128 KiB each).
    auto gemv = [&](const float* xr, float* yr) {
      parallel_for(0, out, std::max<int64_t>(16, 32768 / std::max<int64_t>(1, in)), [&](int64_t lo, int64_t hi) {
        cpu::gemv_rows(hi - lo, in, xr, w + lo * in, in, bias != nullptr ? bias + lo : nullptr, yr + lo);
      });
    };
    thread_local std::vector<float> tmp;
    for (int64_t r = 0; r < rows; ++r) {
      if (!accumulate) {
        gemv(x + r * in, y + r * out);
        continue;
      }
      tmp.resize(static_cast<size_t>(out));
      gemv(x + r * in, tmp.data());
      float* yr = y + r * out;
      for (int64_t i = 0; i < out; ++i) yr[i] += tmp[static_cast<size_t>(i)];
    }
    return;
  }
  cpu::sgemm(false, true, rows, out, in, 1.0f, x, in, w, in, accumulate ? 1.0f : 0.0f, y, out);
  if (bias) {
    for (int64_t r = 0; r < rows; ++r) {
      float* yr = y + r * out;
      for (int64_t i = 0; i < out; ++i) yr[i] += bias[i];
    }
  }
}

void gelu_inplace(float* x, int64_t n) {
  cpu::gelu_forward(x, x, n);
}

const float* f32(const Tensor& t) { return t.data<float>(); }

}  // namespace

void GptLM::forward_into(const std::vector<llm::SeqChunk>& chunks, bool all_rows, float* logits) {
  const GptConfig& c = model_->config();
  const int64_t d = c.d_model, H = c.n_head, hd = d / H, V = c.vocab_size;
  FORGE_CHECK(!chunks.empty(), "[gpt] forward_batch needs at least one sequence");
  // Validate every chunk before any cache changes.
  std::vector<GptCache*> caches;
  std::vector<int64_t> row0;  // first row of each chunk in the stacked [R, d] activations
  int64_t R = 0, max_scores = 0;
  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const llm::SeqChunk& ch = chunks[ci];
    FORGE_CHECK(ch.tokens != nullptr && ch.cache != nullptr, "[gpt] sequence {} has no tokens or no cache", ci);
    auto* cache = dynamic_cast<GptCache*>(ch.cache);
    FORGE_CHECK(cache != nullptr, "[gpt] forward needs a cache made by this model's new_cache()");
    FORGE_CHECK(std::find(caches.begin(), caches.end(), cache) == caches.end(),
                "[gpt] sequence {} uses the same cache as an earlier sequence of the batch", ci);
    const auto T = static_cast<int64_t>(ch.tokens->size());
    FORGE_CHECK(T > 0, "[gpt] forward needs at least one token");
    FORGE_CHECK(cache->size_ + T <= cache->capacity_, "[gpt] {} new tokens after {} cached exceed the cache capacity {}",
                T, cache->size_, cache->capacity_);
    for (int32_t id : *ch.tokens) {
      FORGE_CHECK(id >= 0 && id < V, "[gpt] token id {} is out of range for vocabulary size {}", id, V);
    }
    caches.push_back(cache);
    row0.push_back(R);
    R += T;
    max_scores = std::max(max_scores, T * (cache->size_ + T));
  }
  NoGradGuard no_grad;
  const auto& mch = model_->named_children();
  const float* tok = f32(mch[0].second->tensor("weight"));
  const float* pos = f32(mch[1].second->tensor("weight"));
  auto& blocks = static_cast<nn::ModuleList&>(*mch[2].second);

  auto grow = [](std::vector<float>& v, int64_t n) {
    if (static_cast<int64_t>(v.size()) < n) v.resize(static_cast<size_t>(n));
    return v.data();
  };
  float* x = grow(x_, R * d);
  float* h = grow(h_, R * d);
  float* qkv = grow(qkv_, R * 3 * d);
  float* att = grow(att_, R * d);
  float* mlp = grow(mlp_, R * 4 * d);
  float* scores = grow(scores_, max_scores);

  for (size_t ci = 0; ci < chunks.size(); ++ci) {
    const std::vector<int32_t>& tokens = *chunks[ci].tokens;
    const int64_t p0 = caches[ci]->size_;
    for (size_t t = 0; t < tokens.size(); ++t) {
      const float* te = tok + static_cast<int64_t>(tokens[t]) * d;
      const float* pe = pos + (p0 + static_cast<int64_t>(t)) * d;
      float* xr = x + (row0[ci] + static_cast<int64_t>(t)) * d;
      for (int64_t i = 0; i < d; ++i) xr[i] = te[i] + pe[i];
    }
  }
  const auto scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(hd)));
  for (size_t li = 0; li < blocks.size(); ++li) {
    const auto& bc = blocks.at(li)->named_children();  // ln1, ln2, qkv, proj, fc, fc2
    auto W = [&](int i, const char* n) { return f32(bc[static_cast<size_t>(i)].second->tensor(n)); };
    layer_norm_rows(x, h, R, d, W(0, "weight"), W(0, "bias"));
    linear_rows(h, R, d, W(2, "weight"), 3 * d, W(2, "bias"), qkv, false);
    for (size_t ci = 0; ci < chunks.size(); ++ci) {
      GptCache* cache = caches[ci];
      const int64_t T = static_cast<int64_t>(chunks[ci].tokens->size()), p0 = cache->size_, L = p0 + T;
      const float* q_rows = qkv + row0[ci] * 3 * d;
      float* att_rows = att + row0[ci] * d;
      float* kc = cache->k_[li].data();
      float* vc = cache->v_[li].data();
      // Append this chunk's keys and values: cache layout [head, position, head_dim].
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t hh = 0; hh < H; ++hh) {
          std::copy_n(q_rows + t * 3 * d + d + hh * hd, hd, kc + (hh * cache->capacity_ + p0 + t) * hd);
          std::copy_n(q_rows + t * 3 * d + 2 * d + hh * hd, hd, vc + (hh * cache->capacity_ + p0 + t) * hd);
        }
      }
      // Causal attention of the T new queries over the L cached keys (query t sees keys <= p0 + t).
      for (int64_t hh = 0; hh < H; ++hh) {
        const float* K = kc + hh * cache->capacity_ * hd;
        const float* Vh = vc + hh * cache->capacity_ * hd;
        if (T == 1) {
          cpu::gemv_rows(L, hd, q_rows + hh * hd, K, hd, nullptr, scores);
          for (int64_t j = 0; j < L; ++j) scores[j] *= scale;
        } else {
          cpu::sgemm(false, true, T, L, hd, scale, q_rows + hh * hd, 3 * d, K, hd, 0.0f, scores, L);
        }
        for (int64_t t = 0; t < T; ++t) {
          float* s = scores + t * L;
          const int64_t visible = p0 + t + 1;
          float mx = -INFINITY;
          for (int64_t j = 0; j < visible; ++j) mx = std::max(mx, s[j]);
          float sum = 0.0f;
          for (int64_t j = 0; j < visible; ++j) {
            s[j] = std::exp(s[j] - mx);
            sum += s[j];
          }
          const float inv = 1.0f / sum;
          for (int64_t j = 0; j < visible; ++j) s[j] *= inv;
          for (int64_t j = visible; j < L; ++j) s[j] = 0.0f;
        }
        if (T == 1) {
          float* o = att_rows + hh * hd;
          std::fill_n(o, hd, 0.0f);
          for (int64_t j = 0; j < L; ++j) {
            const float p = scores[j];
            const float* vr = Vh + j * hd;
            for (int64_t i = 0; i < hd; ++i) o[i] += p * vr[i];
          }
        } else {
          cpu::sgemm(false, false, T, hd, L, 1.0f, scores, L, Vh, hd, 0.0f, att_rows + hh * hd, d);
        }
      }
    }
    linear_rows(att, R, d, W(3, "weight"), d, W(3, "bias"), x, true);
    layer_norm_rows(x, h, R, d, W(1, "weight"), W(1, "bias"));
    linear_rows(h, R, d, W(4, "weight"), 4 * d, W(4, "bias"), mlp, false);
    gelu_inplace(mlp, R * 4 * d);
    linear_rows(mlp, R, 4 * d, W(5, "weight"), d, W(5, "bias"), x, true);
  }
  for (size_t ci = 0; ci < chunks.size(); ++ci) caches[ci]->size_ += static_cast<int64_t>(chunks[ci].tokens->size());
  // Final LayerNorm and head on the rows that produce logits (gathered into h).
  const nn::Module& ln = *mch[3].second;
  int64_t rows = 0;
  if (all_rows) {
    layer_norm_rows(x, h, R, d, f32(ln.tensor("weight")), f32(ln.tensor("bias")));
    rows = R;
  } else {
    for (size_t ci = 0; ci < chunks.size(); ++ci) {
      const int64_t last = row0[ci] + static_cast<int64_t>(chunks[ci].tokens->size()) - 1;
      layer_norm_rows(x + last * d, h + rows * d, 1, d, f32(ln.tensor("weight")), f32(ln.tensor("bias")));
      ++rows;
    }
  }
  linear_rows(h, rows, d, f32(model_->head_weight()), V, nullptr, logits, false);
}

// ---------------------------------------------------------------- model directories

std::string gpt_config_json(const GptConfig& c, const std::string& tokenizer_kind) {
  nlohmann::json j;
  j["architecture"] = "forge-gpt";
  j["vocab_size"] = c.vocab_size;
  j["context"] = c.context;
  j["n_layer"] = c.n_layer;
  j["n_head"] = c.n_head;
  j["d_model"] = c.d_model;
  j["tie_weights"] = c.tie_weights;
  j["dropout"] = c.dropout;
  j["tokenizer"] = tokenizer_kind;
  return j.dump(2);
}

GptConfig gpt_config_from_json(const std::string& text, const std::string& where) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail("[gpt] {} is not valid JSON: {}", where, e.what());
  }
  FORGE_CHECK(j.is_object() && j.value("architecture", "") == "forge-gpt",
              "[gpt] {}: \"architecture\" must be \"forge-gpt\"", where);
  GptConfig c;
  try {
    c.vocab_size = j.at("vocab_size").get<int64_t>();
    c.context = j.at("context").get<int64_t>();
    c.n_layer = j.at("n_layer").get<int64_t>();
    c.n_head = j.at("n_head").get<int64_t>();
    c.d_model = j.at("d_model").get<int64_t>();
    c.tie_weights = j.value("tie_weights", false);
    c.dropout = j.value("dropout", 0.0);
  } catch (const std::exception& e) {
    fail("[gpt] {}: {}", where, e.what());
  }
  check_gpt_config(c);
  return c;
}

namespace {
std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  FORGE_CHECK(f.good(), "[gpt] cannot open {}", path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
}  // namespace

void save_gpt_dir(const std::string& dir, const Gpt& model, const text::Tokenizer& tokenizer) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  {
    std::ofstream f(fs::path(dir) / "config.json");
    FORGE_CHECK(f.good(), "[gpt] cannot write {}/config.json", dir);
    f << gpt_config_json(model.config(), tokenizer.kind()) << "\n";
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& nt : model.state()) tensors.emplace_back(nt.name, nt.tensor.detach());
  save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "forge-gpt"}});
  save_tokenizer(tokenizer, (fs::path(dir) / "tokenizer.json").string());
}

void save_tokenizer(const text::Tokenizer& tokenizer, const std::string& path) {
  if (const auto* ct = dynamic_cast<const text::CharTokenizer*>(&tokenizer)) return ct->save(path);
  if (const auto* bt = dynamic_cast<const text::BpeTokenizer*>(&tokenizer)) return bt->save(path);
  fail("[gpt] saving a {} tokenizer is not supported", tokenizer.kind());
}

bool is_gpt_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path p = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(p)) return false;
  try {
    return nlohmann::json::parse(read_text(p.string())).value("architecture", "") == "forge-gpt";
  } catch (const std::exception&) {
    return false;
  }
}

std::shared_ptr<GptLM> load_gpt_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  const std::string cfg_path = (fs::path(dir) / "config.json").string();
  const std::string cfg_text = read_text(cfg_path);
  GptConfig c = gpt_config_from_json(cfg_text, cfg_path);
  const std::string kind = nlohmann::json::parse(cfg_text).value("tokenizer", "char");
  auto model = std::make_shared<Gpt>(c);
  SafetensorsFile st = load_safetensors((fs::path(dir) / "model.safetensors").string());
  NamedTensors state;
  for (const auto& [name, t] : st.tensors) state.push_back({name, t});
  model->load_state(state, true);
  model->eval();
  const std::string tok_path = (fs::path(dir) / "tokenizer.json").string();
  text::TokenizerPtr tok;
  if (kind == "char") {
    tok = text::CharTokenizer::load(tok_path);
  } else {
    tok = text::load_tokenizer_json(tok_path);  // Hugging Face tokenizer.json (BPE)
  }
  return std::make_shared<GptLM>(model, tok, fs::path(dir).filename().string());
}

}  // namespace forge::models
