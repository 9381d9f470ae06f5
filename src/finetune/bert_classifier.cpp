#include "finetune/bert_classifier.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "formats/safetensors.h"
#include "models/checkpoint_tokenizer.h"
#include "models/hf_checkpoint.h"
#include "nn/init.h"
#include "ops/attention.h"
#include "ops/dropout.h"
#include "ops/elementwise.h"
#include "ops/embedding.h"
#include "ops/linalg.h"
#include "ops/norm.h"
#include "ops/reduce.h"
#include "ops/softmax.h"

namespace forge::finetune {

namespace fs = std::filesystem;

namespace {

// A module holding tensors or children under Hugging Face's names.
class Node : public nn::Module {
 public:
  explicit Node(std::string kind) : kind_(std::move(kind)) {}
  std::string name() const override { return kind_; }

 private:
  std::string kind_;
};

std::shared_ptr<Node> linear_node(int64_t out, int64_t in, Generator& gen) {
  auto p = std::make_shared<Node>("Linear");
  Tensor w = empty({out, in});
  nn::init::normal_(w, gen, 0.0, 0.02);
  p->register_parameter("weight", w);
  p->register_parameter("bias", zeros({out}));
  return p;
}

std::shared_ptr<Node> norm_node(int64_t d) {
  auto p = std::make_shared<Node>("LayerNorm");
  p->register_parameter("weight", ones({d}));
  p->register_parameter("bias", zeros({d}));
  return p;
}

std::shared_ptr<Node> embedding_node(int64_t n, int64_t d, Generator& gen) {
  auto p = std::make_shared<Node>("Embedding");
  Tensor w = empty({n, d});
  nn::init::normal_(w, gen, 0.0, 0.02);
  p->register_parameter("weight", w);
  return p;
}

std::shared_ptr<Node> with_children(const char* kind, std::initializer_list<std::pair<const char*, nn::ModulePtr>> ch) {
  auto n = std::make_shared<Node>(kind);
  for (const auto& [name, m] : ch) n->register_module(name, m);
  return n;
}

// Parameter lookup by dotted name ("encoder.layer.0.attention.self.query.weight").
Tensor param(const nn::Module& m, const std::string& name) {
  const auto dot = name.find('.');
  if (dot == std::string::npos) return m.tensor(name);
  const std::string head = name.substr(0, dot);
  for (const auto& [n, child] : m.named_children()) {
    if (n == head) return param(*child, name.substr(dot + 1));
  }
  fail("[bert_classifier] no parameter '{}'", name);
  return {};
}

Tensor row_lengths(const Tensor& mask) { return sum(mask, {1}, true); }  // [B, 1]

}  // namespace

void check_bert_classifier_config(const BertClassifierConfig& c) {
  const auto& b = c.bert;
  FORGE_CHECK(b.n_layer > 0 && b.d_model > 0 && b.n_head > 0 && b.d_ff > 0 && b.vocab > 0 && b.max_positions > 0,
              "[bert_classifier] layers {}, hidden {}, heads {}, intermediate {}, vocab {} and positions {} must all "
              "be > 0",
              b.n_layer, b.d_model, b.n_head, b.d_ff, b.vocab, b.max_positions);
  FORGE_CHECK(b.d_model % b.n_head == 0, "[bert_classifier] hidden size {} is not a multiple of the {} heads",
              b.d_model, b.n_head);
  FORGE_CHECK(b.pooling == "mean" || b.pooling == "cls", "[bert_classifier] pooling '{}' is not mean or cls",
              b.pooling);
  FORGE_CHECK(c.num_classes >= 2, "[bert_classifier] num_classes must be >= 2, got {}", c.num_classes);
  FORGE_CHECK(c.dropout >= 0.0 && c.dropout < 1.0, "[bert_classifier] dropout must be in [0, 1), got {}", c.dropout);
  FORGE_CHECK(c.pad_id >= 0 && c.pad_id < b.vocab, "[bert_classifier] pad id {} outside the vocabulary [0, {})",
              c.pad_id, b.vocab);
}

TokenBatch make_token_batch(const std::vector<std::vector<int32_t>>& seqs, int32_t pad_id) {
  FORGE_CHECK(!seqs.empty(), "[bert_classifier] a batch needs at least one sequence");
  size_t T = 0;
  for (size_t i = 0; i < seqs.size(); ++i) {
    FORGE_CHECK(!seqs[i].empty(), "[bert_classifier] sequence {} of the batch is empty", i);
    T = std::max(T, seqs[i].size());
  }
  const auto B = static_cast<int64_t>(seqs.size());
  TokenBatch b{empty({B, static_cast<int64_t>(T)}, DType::kI64), zeros({B, static_cast<int64_t>(T)})};
  int64_t* ids = b.ids.data<int64_t>();
  float* mask = b.mask.data<float>();
  for (size_t i = 0; i < seqs.size(); ++i) {
    for (size_t t = 0; t < T; ++t) {
      const bool tok = t < seqs[i].size();
      ids[i * T + t] = tok ? seqs[i][t] : pad_id;
      mask[i * T + t] = tok ? 1.0f : 0.0f;
    }
  }
  return b;
}

BertClassifier::BertClassifier(BertClassifierConfig config, uint64_t seed) : config_(std::move(config)) {
  check_bert_classifier_config(config_);
  const auto& c = config_.bert;
  Generator gen(seed);
  const int64_t d = c.d_model;
  register_module("embeddings", with_children("BertEmbeddings",
                                              {{"word_embeddings", embedding_node(c.vocab, d, gen)},
                                               {"position_embeddings", embedding_node(c.max_positions, d, gen)},
                                               {"token_type_embeddings", embedding_node(c.type_vocab, d, gen)},
                                               {"LayerNorm", norm_node(d)}}));
  auto layers = std::make_shared<nn::ModuleList>();
  for (int64_t l = 0; l < c.n_layer; ++l) {
    auto self = with_children("BertSelfAttention", {{"query", linear_node(d, d, gen)},
                                                    {"key", linear_node(d, d, gen)},
                                                    {"value", linear_node(d, d, gen)}});
    auto attn_out = with_children("BertSelfOutput", {{"dense", linear_node(d, d, gen)}, {"LayerNorm", norm_node(d)}});
    layers->add(with_children(
        "BertLayer", {{"attention", with_children("BertAttention", {{"self", self}, {"output", attn_out}})},
                      {"intermediate", with_children("BertIntermediate", {{"dense", linear_node(c.d_ff, d, gen)}})},
                      {"output", with_children("BertOutput", {{"dense", linear_node(d, c.d_ff, gen)},
                                                              {"LayerNorm", norm_node(d)}})}}));
  }
  register_module("encoder", with_children("BertEncoder", {{"layer", layers}}));
  register_module("classifier", linear_node(config_.num_classes, d, gen));
  uint64_t k = 0;
  for (auto& [name, m] : named_modules()) m->generator().manual_seed((seed ^ 0x5bd1e995ULL) + 7919 * k++);
}

Tensor BertClassifier::encode(const Tensor& ids, const Tensor& mask) {
  const auto& c = config_.bert;
  FORGE_CHECK(ids.dim() == 2, "[bert_classifier] ids must be 2-d [batch, time], got {}", shape_str(ids));
  FORGE_CHECK(mask.dim() == 2 && mask.shape() == ids.shape(), "[bert_classifier] mask {} must match ids {}",
              shape_str(mask), shape_str(ids));
  const int64_t B = ids.size(0), T = ids.size(1), d = c.d_model, H = c.n_head, hd = d / H;
  FORGE_CHECK(T > 0 && T <= c.max_positions, "[bert_classifier] sequence length {} must be in [1, {}]", T,
              c.max_positions);
  const bool drop = is_training() && config_.dropout > 0.0;
  const double p = config_.dropout;
  const Tensor positions = arange(0, static_cast<double>(T), 1.0, DType::kI64);
  // x: [B, T, d] = word + position + token type 0, then LayerNorm.
  Tensor x = add(embedding(ids, param(*this, "embeddings.word_embeddings.weight")),
                 embedding(positions, param(*this, "embeddings.position_embeddings.weight")));
  x = add(x, param(*this, "embeddings.token_type_embeddings.weight").slice(0, 0, 1));
  x = layer_norm(x, {d}, param(*this, "embeddings.LayerNorm.weight"), param(*this, "embeddings.LayerNorm.bias"),
                 c.ln_eps);
  if (drop) x = dropout(x, p, true, &generator());
  // Additive key mask [B, 1, 1, T]: 0 for tokens, a large negative number for padding (every
  // query sees at least its own row's [CLS], so no row is fully masked).
  Tensor key_mask = empty({B, 1, 1, T});
  {
    const Tensor m = mask.to(DType::kF32).contiguous();
    for (int64_t i = 0; i < B * T; ++i) key_mask.data<float>()[i] = m.data<float>()[i] > 0.5f ? 0.0f : -1e9f;
  }
  const auto& layers = static_cast<const nn::ModuleList&>(*named_children()[1].second->named_children()[0].second);
  for (size_t l = 0; l < layers.size(); ++l) {
    const nn::Module& L = *layers.at(l);
    auto lin = [&](const Tensor& in, const std::string& n) {
      return linear(in, param(L, n + ".weight"), param(L, n + ".bias"));
    };
    // q, k, v: [B, T, d] -> [B, H, T, hd]
    auto heads = [&](const Tensor& t) { return t.view({B, T, H, hd}).permute({0, 2, 1, 3}); };
    Tensor q = heads(lin(x, "attention.self.query"));
    Tensor k = heads(lin(x, "attention.self.key"));
    Tensor v = heads(lin(x, "attention.self.value"));
    Tensor a = scaled_dot_product_attention(q, k, v, key_mask).transpose(1, 2).reshape({B, T, d});
    a = lin(a, "attention.output.dense");
    if (drop) a = dropout(a, p, true, &generator());
    x = layer_norm(add(x, a), {d}, param(L, "attention.output.LayerNorm.weight"),
                   param(L, "attention.output.LayerNorm.bias"), c.ln_eps);
    Tensor m = lin(gelu(lin(x, "intermediate.dense"), c.gelu_tanh), "output.dense");
    if (drop) m = dropout(m, p, true, &generator());
    x = layer_norm(add(x, m), {d}, param(L, "output.LayerNorm.weight"), param(L, "output.LayerNorm.bias"), c.ln_eps);
  }
  return x;
}

Tensor BertClassifier::pooled(const Tensor& ids, const Tensor& mask, bool normalize) {
  const Tensor x = encode(ids, mask);  // [B, T, d]
  const int64_t B = x.size(0), T = x.size(1);
  Tensor e;
  if (config_.bert.pooling == "cls") {
    e = x.select(1, 0);
  } else {
    const Tensor m = mask.to(DType::kF32).reshape({B, T, 1});
    e = div(sum(mul(x, m), {1}), row_lengths(mask.to(DType::kF32)));  // [B, d] / [B, 1]
  }
  if (normalize) e = div(e, clamp(sqrt(sum(square(e), {1}, true)), 1e-12, 1e30));
  return e;
}

Tensor BertClassifier::logits(const Tensor& ids, const Tensor& mask) {
  Tensor e = pooled(ids, mask, false);
  if (is_training() && config_.dropout > 0.0) e = dropout(e, config_.dropout, true, &generator());
  return linear(e, param(*this, "classifier.weight"), param(*this, "classifier.bias"));
}

Tensor BertClassifier::forward(const Tensor& ids) {
  FORGE_CHECK(ids.dim() == 2, "[bert_classifier] ids must be 2-d [batch, time], got {}", shape_str(ids));
  const Tensor id = ids.to(DType::kI64).contiguous();
  Tensor mask = empty(id.shape());
  for (int64_t i = 0; i < id.numel(); ++i) mask.data<float>()[i] = id.data<int64_t>()[i] == config_.pad_id ? 0.0f : 1.0f;
  return logits(id, mask);
}

// ---------------------------------------------------------------- loading and saving

models::BertConfig bert_config_from_dir(const std::string& dir) {
  // load_bert validates config.json, reads 1_Pooling and modules.json; the weights stay mapped.
  return models::load_bert(dir)->config();
}

std::shared_ptr<BertClassifier> load_bert_classifier_from_hf(const std::string& dir, int64_t num_classes,
                                                             double dropout, uint64_t seed) {
  BertClassifierConfig c;
  c.bert = bert_config_from_dir(dir);
  const models::HfCheckpoint ck = models::load_hf_checkpoint(dir);
  c.bert.type_vocab = ck.config.value("type_vocab_size", int64_t{2});
  c.pad_id = static_cast<int32_t>(ck.config.value("pad_token_id", int64_t{0}));
  c.num_classes = num_classes;
  c.dropout = dropout;
  auto model = std::make_shared<BertClassifier>(c, seed);
  NamedTensors state;
  for (const auto& [name, t] : ck.tensors) {
    const std::string n = name.rfind("bert.", 0) == 0 ? name.substr(5) : name;
    if (n.rfind("embeddings.", 0) == 0 || n.rfind("encoder.", 0) == 0) {
      if (n != "embeddings.position_ids") state.push_back({n, t});
    }
  }
  const nn::LoadReport r = model->load_state(state, /*strict=*/false);
  for (const auto& m : r.missing) {
    FORGE_CHECK(m.rfind("classifier.", 0) == 0, "[bert_classifier] {}: the checkpoint has no tensor '{}'", dir, m);
  }
  FORGE_CHECK(r.unexpected.empty(), "[bert_classifier] {}: unexpected tensor '{}' (is this a BERT checkpoint?)", dir,
              r.unexpected.empty() ? "" : r.unexpected.front());
  return model;
}

std::vector<int32_t> encode_for_classifier(const text::Tokenizer& tokenizer, const std::string& text,
                                           int64_t maxlen) {
  FORGE_CHECK(maxlen >= 2, "[bert_classifier] maxlen must be >= 2 ([CLS] and [SEP]), got {}", maxlen);
  std::vector<int32_t> ids = tokenizer.encode(text, /*add_special_tokens=*/true);
  if (static_cast<int64_t>(ids.size()) > maxlen) {
    const int32_t last = ids.back();  // [SEP]
    ids.resize(static_cast<size_t>(maxlen));
    ids.back() = last;
  }
  return ids;
}

std::vector<int32_t> TextClassifier::encode(const std::string& text) const {
  return encode_for_classifier(*tokenizer, text, maxlen);
}

Tensor TextClassifier::predict_proba(const std::vector<std::string>& texts, int64_t batch_size) const {
  FORGE_CHECK(batch_size > 0, "[bert_classifier] batch size must be > 0, got {}", batch_size);
  NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  const auto N = static_cast<int64_t>(texts.size());
  const int64_t C = model->config().num_classes;
  Tensor out = empty({N, C});
  std::vector<std::vector<int32_t>> ids;
  for (const auto& t : texts) ids.push_back(encode(t));
  // Length-sorted batches pad less; results go back to the input order.
  std::vector<int64_t> order(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return ids[static_cast<size_t>(a)].size() < ids[static_cast<size_t>(b)].size(); });
  for (int64_t s = 0; s < N; s += batch_size) {
    const int64_t e = std::min(N, s + batch_size);
    std::vector<std::vector<int32_t>> chunk;
    for (int64_t i = s; i < e; ++i) chunk.push_back(ids[static_cast<size_t>(order[static_cast<size_t>(i)])]);
    const TokenBatch b = make_token_batch(chunk, model->config().pad_id);
    const Tensor p = softmax(model->logits(b.ids, b.mask), -1).contiguous();
    for (int64_t i = s; i < e; ++i) {
      std::copy_n(p.data<float>() + (i - s) * C, C, out.data<float>() + order[static_cast<size_t>(i)] * C);
    }
  }
  model->train(was_training);
  return out;
}

std::vector<int64_t> TextClassifier::predict(const std::vector<std::string>& texts, int64_t batch_size) const {
  const Tensor p = predict_proba(texts, batch_size);
  std::vector<int64_t> out;
  const int64_t C = p.size(1);
  for (int64_t i = 0; i < p.size(0); ++i) {
    const float* r = p.data<float>() + i * C;
    out.push_back(std::max_element(r, r + C) - r);
  }
  return out;
}

void save_classifier(const std::string& dir, const TextClassifier& clf, const std::string& source_dir) {
  fs::create_directories(dir);
  const auto& c = clf.model->config();
  nlohmann::json j;
  {
    std::ifstream in(fs::path(source_dir) / "config.json");
    if (in.good()) j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object()) j = nlohmann::json::object();
  }
  j["model_type"] = "bert";
  j["architectures"] = {"BertForSequenceClassification"};
  j["num_hidden_layers"] = c.bert.n_layer;
  j["hidden_size"] = c.bert.d_model;
  j["num_attention_heads"] = c.bert.n_head;
  j["intermediate_size"] = c.bert.d_ff;
  j["vocab_size"] = c.bert.vocab;
  j["max_position_embeddings"] = c.bert.max_positions;
  j["type_vocab_size"] = c.bert.type_vocab;
  j["layer_norm_eps"] = c.bert.ln_eps;
  j["hidden_act"] = c.bert.gelu_tanh ? "gelu_new" : "gelu";
  j["pad_token_id"] = c.pad_id;
  j["hidden_dropout_prob"] = c.dropout;
  nlohmann::json id2label = nlohmann::json::object(), label2id = nlohmann::json::object();
  for (size_t i = 0; i < clf.label_names.size(); ++i) {
    id2label[std::to_string(i)] = clf.label_names[i];
    label2id[clf.label_names[i]] = i;
  }
  j["id2label"] = id2label;
  j["label2id"] = label2id;
  j["forge_classifier"] = {{"pooling", c.bert.pooling}, {"maxlen", clf.maxlen}, {"num_classes", c.num_classes},
                           {"data", clf.data}};
  {
    std::ofstream f(fs::path(dir) / "config.json");
    FORGE_CHECK(f.good(), "[bert_classifier] cannot write {}/config.json", dir);
    f << j.dump(2) << "\n";
  }
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& nt : clf.model->state()) tensors.emplace_back(nt.name, nt.tensor.detach());
  save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  for (const char* f : {"tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"}) {
    const fs::path src = fs::path(source_dir) / f;
    if (fs::exists(src) && fs::absolute(src) != fs::absolute(fs::path(dir) / f)) {
      fs::copy_file(src, fs::path(dir) / f, fs::copy_options::overwrite_existing);
    }
  }
}

bool is_classifier_dir(const std::string& dir) {
  const fs::path p = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(p)) return false;
  std::ifstream in(p);
  const auto j = nlohmann::json::parse(in, nullptr, false);
  return j.is_object() && j.contains("forge_classifier");
}

TextClassifier load_classifier(const std::string& dir) {
  const fs::path cfg = fs::path(dir) / "config.json";
  FORGE_CHECK(is_classifier_dir(dir), "[bert_classifier] {} is not a fine-tuned classifier (no {} with forge_classifier)",
              dir, cfg.string());
  std::ifstream in(cfg);
  const auto j = nlohmann::json::parse(in);
  const auto& fc = j.at("forge_classifier");
  BertClassifierConfig c;
  c.bert = bert_config_from_dir(dir);
  c.bert.pooling = fc.value("pooling", "mean");
  c.bert.type_vocab = j.value("type_vocab_size", int64_t{2});
  c.pad_id = static_cast<int32_t>(j.value("pad_token_id", int64_t{0}));
  c.num_classes = fc.at("num_classes").get<int64_t>();
  c.dropout = j.value("hidden_dropout_prob", 0.1);
  TextClassifier out;
  out.model = std::make_shared<BertClassifier>(c);
  const SafetensorsFile st = load_safetensors((fs::path(dir) / "model.safetensors").string());
  NamedTensors state;
  for (const auto& [name, t] : st.tensors) state.push_back({name, t});
  out.model->load_state(state, /*strict=*/true);
  out.model->eval();
  out.tokenizer = models::tokenizer_from_hf_dir(dir);
  out.maxlen = fc.value("maxlen", int64_t{128});
  out.data = fc.value("data", nlohmann::json());
  out.label_names.resize(static_cast<size_t>(c.num_classes));
  for (int64_t i = 0; i < c.num_classes; ++i) {
    out.label_names[static_cast<size_t>(i)] = j.at("id2label").value(std::to_string(i), std::to_string(i));
  }
  return out;
}

}  // namespace forge::finetune
