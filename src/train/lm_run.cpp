// Language-model runs (train/lm_run.h): config parsing, corpus -> token streams, the GPT
// training loop with AdamW + warmup/cosine, clipping, accumulation, exact-resume checkpoints.
#include "train/lm_run.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/grad_mode.h"
#include "core/allocator.h"
#include "core/error.h"
#include "core/random.h"
#include "data/fortunes.h"
#include "formats/safetensors.h"
#include "llm/generate.h"
#include "nn/loss.h"
#include "ops/elementwise.h"
#include "ops/precision.h"
#include "optim/clip.h"
#include "optim/optimizers.h"
#include "optim/schedule.h"
#include "optim/state.h"
#include "text/bpe.h"
#include "text/char_tokenizer.h"
#include "train/csv_logger.h"
#include "train/plots.h"

namespace forge::train {

namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  FORGE_CHECK(f.good(), "[{}] cannot open {}", what, path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Minimal typed access to one TOML table; errors name file:line and the key.
struct Section {
  const toml::table& t;
  std::string file, name;

  [[noreturn]] void fail_at(const toml::node* node, const std::string& msg) const {
    const auto line = node ? static_cast<int64_t>(node->source().begin.line) : 0;
    forge::fail("[config] {}:{}: {}", file, line, msg);
  }
  void check_keys(const std::vector<std::string>& valid) const {
    for (const auto& [key, node] : t) {
      const std::string k(key.str());
      if (std::find(valid.begin(), valid.end(), k) == valid.end()) {
        forge::fail("[config] {}:{}: unknown key '{}' in [{}] (valid: {})", file,
                    static_cast<int64_t>(key.source().begin.line), k, name, fmt::join(valid, ", "));
      }
    }
  }
  std::string str(const std::string& key, const std::string& fallback) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_string()) fail_at(n, fmt::format("'{}' in [{}] must be a string", key, name));
    return std::string(n->as_string()->get());
  }
  double num(const std::string& key, double fallback, double lo, double hi) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    double v = 0;
    if (n->is_integer()) {
      v = static_cast<double>(n->as_integer()->get());
    } else if (n->is_floating_point()) {
      v = n->as_floating_point()->get();
    } else {
      fail_at(n, fmt::format("'{}' in [{}] must be a number", key, name));
    }
    if (!(v >= lo && v <= hi)) fail_at(n, fmt::format("'{}' in [{}] must be in [{}, {}], got {}", key, name, lo, hi, v));
    return v;
  }
  int64_t integer(const std::string& key, int64_t fallback, int64_t min) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_integer()) fail_at(n, fmt::format("'{}' in [{}] must be an integer", key, name));
    const int64_t v = n->as_integer()->get();
    if (v < min) fail_at(n, fmt::format("'{}' in [{}] must be at least {}, got {}", key, name, min, v));
    return v;
  }
  bool boolean(const std::string& key, bool fallback) const {
    const toml::node* n = t.get(key);
    if (!n) return fallback;
    if (!n->is_boolean()) fail_at(n, fmt::format("'{}' in [{}] must be true or false", key, name));
    return n->as_boolean()->get();
  }
  std::vector<std::string> strings(const std::string& key) const {
    std::vector<std::string> out;
    const toml::node* n = t.get(key);
    if (!n) return out;
    if (n->is_string()) return {std::string(n->as_string()->get())};
    if (!n->is_array()) fail_at(n, fmt::format("'{}' in [{}] must be an array of strings", key, name));
    for (const toml::node& item : *n->as_array()) {
      if (!item.is_string()) fail_at(&item, fmt::format("'{}' in [{}] must be an array of strings", key, name));
      out.emplace_back(item.as_string()->get());
    }
    return out;
  }
  void one_of(const std::string& key, const std::string& v, const std::vector<std::string>& valid) const {
    if (std::find(valid.begin(), valid.end(), v) == valid.end())
      fail_at(t.get(key), fmt::format("'{}' in [{}] must be one of {}, got '{}'", key, name, fmt::join(valid, ", "), v));
  }
};

toml::table parse_toml(const std::string& text, const std::string& name) {
  try {
    return toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    forge::fail("[config] {}:{}: {}", name, static_cast<int64_t>(e.source().begin.line), e.description());
  }
}

}  // namespace

bool is_lm_config(const std::string& path) {
  if (!fs::is_regular_file(path)) return false;
  try {
    toml::table root = toml::parse_file(path);
    const auto* model = root.get_as<toml::table>("model");
    if (!model) return false;
    const auto* type = model->get_as<std::string>("type");
    return type && type->get() == "gpt";
  } catch (const std::exception&) {
    return false;
  }
}

LmConfig load_lm_config(const std::string& path) {
  LmConfig c = parse_lm_config(read_file(path, "config"), path, fs::path(path).parent_path().string());
  c.path = path;
  return c;
}

LmConfig parse_lm_config(const std::string& text, const std::string& name, const std::string& base_dir) {
  toml::table root = parse_toml(text, name);
  LmConfig c;
  c.path = name;
  for (const auto& [key, node] : root) {
    const std::string k(key.str());
    if (k != "name" && k != "data" && k != "model" && k != "train")
      forge::fail("[config] {}:{}: unknown key '{}' (valid: name, [data], [model], [train])", name,
                  static_cast<int64_t>(key.source().begin.line), k);
  }
  c.name = root["name"].value_or(std::string());
  FORGE_CHECK(!c.name.empty(), "[config] {}: missing 'name'", name);
  auto section = [&](const char* key) -> const toml::table& {
    const toml::table* t = root.get_as<toml::table>(key);
    FORGE_CHECK(t != nullptr, "[config] {}: missing section [{}]", name, key);
    return *t;
  };
  {
    Section s{section("data"), name, "data"};
    s.check_keys({"corpus", "files", "tokenizer", "vocab_size", "validation_split", "max_documents"});
    c.corpus = s.str("corpus", "");
    c.files = s.strings("files");
    for (auto& f : c.files) {
      if (!base_dir.empty() && fs::path(f).is_relative() && fs::exists(fs::path(base_dir) / f))
        f = (fs::path(base_dir) / f).string();
    }
    if (c.corpus.empty() == c.files.empty())
      s.fail_at(&s.t, "[data] needs exactly one of 'corpus' (\"fortunes\" or \"fortunes-zh\") or 'files'");
    if (!c.corpus.empty()) s.one_of("corpus", c.corpus, {"fortunes", "fortunes-zh"});
    c.tokenizer = s.str("tokenizer", c.tokenizer);
    s.one_of("tokenizer", c.tokenizer, {"char", "bpe"});
    c.vocab_size = s.integer("vocab_size", 0, 0);
    if (c.tokenizer == "bpe" && c.vocab_size < 257)
      s.fail_at(&s.t, fmt::format("tokenizer = \"bpe\" needs vocab_size >= 257, got {}", c.vocab_size));
    c.validation_split = s.num("validation_split", c.validation_split, 0.0, 0.9);
    c.max_documents = s.integer("max_documents", 0, 0);
  }
  {
    Section s{section("model"), name, "model"};
    s.check_keys({"type", "n_layer", "n_head", "d_model", "context", "tie_weights", "dropout"});
    s.one_of("type", s.str("type", ""), {"gpt"});
    c.model.n_layer = s.integer("n_layer", c.model.n_layer, 1);
    c.model.n_head = s.integer("n_head", c.model.n_head, 1);
    c.model.d_model = s.integer("d_model", c.model.d_model, 1);
    c.model.context = s.integer("context", c.model.context, 2);
    c.model.tie_weights = s.boolean("tie_weights", c.model.tie_weights);
    c.model.dropout = s.num("dropout", c.model.dropout, 0.0, 0.99);
    if (c.model.d_model % c.model.n_head != 0)
      s.fail_at(s.t.get("d_model"),
                fmt::format("d_model {} must be divisible by n_head {}", c.model.d_model, c.model.n_head));
  }
  {
    Section s{section("train"), name, "train"};
    s.check_keys({"epochs", "steps_per_epoch", "batch_size", "accumulate", "lr", "weight_decay", "beta1", "beta2",
                  "min_lr", "clip_norm", "warmup_steps", "windows", "eval_windows", "seed", "sample_prompt", "precision"});
    c.epochs = s.integer("epochs", c.epochs, 1);
    c.steps_per_epoch = s.integer("steps_per_epoch", 0, 0);
    c.batch_size = s.integer("batch_size", c.batch_size, 1);
    c.accumulate = s.integer("accumulate", c.accumulate, 1);
    c.lr = s.num("lr", c.lr, 0.0, 10.0);
    c.weight_decay = s.num("weight_decay", c.weight_decay, 0.0, 10.0);
    c.beta1 = s.num("beta1", c.beta1, 0.0, 0.999999);
    c.beta2 = s.num("beta2", c.beta2, 0.0, 0.999999);
    c.min_lr = s.num("min_lr", c.min_lr, 0.0, 10.0);
    c.clip_norm = s.num("clip_norm", c.clip_norm, 0.0, 1e9);
    c.warmup_steps = s.integer("warmup_steps", 0, 0);
    c.windows = s.str("windows", c.windows);
    s.one_of("windows", c.windows, {"random", "sequential"});
    c.eval_windows = s.integer("eval_windows", c.eval_windows, 1);
    c.seed = static_cast<uint64_t>(s.integer("seed", 0, 0));
    c.sample_prompt = s.str("sample_prompt", "");
    c.precision = s.str("precision", c.precision);
    s.one_of("precision", c.precision, {"fp32", "bf16"});
  }
  return c;
}

LmCorpus load_lm_corpus(const LmConfig& c) {
  std::vector<std::string> docs;
  if (c.corpus == "fortunes") {
    docs = load_fortunes().texts;
  } else if (c.corpus == "fortunes-zh") {
    docs = load_fortunes_zh();
  } else {
    for (const auto& f : c.files) docs.push_back(read_file(f, "lm"));
  }
  std::erase_if(docs, [](const std::string& d) { return d.empty(); });
  FORGE_CHECK(!docs.empty(), "[lm] the corpus of {} is empty", c.path);
  // Seeded Fisher-Yates shuffle, then the last validation_split of the documents is held out.
  Generator gen(c.seed ^ 0xc0ffeeULL);
  for (size_t i = docs.size(); i > 1; --i) std::swap(docs[i - 1], docs[gen.below(i)]);
  if (c.max_documents > 0 && static_cast<int64_t>(docs.size()) > c.max_documents) docs.resize(c.max_documents);
  LmCorpus out;
  out.documents = static_cast<int64_t>(docs.size());
  out.val_documents = c.validation_split > 0 ? std::max<int64_t>(1, std::llround(c.validation_split * docs.size())) : 0;
  if (docs.size() == 1 && out.val_documents > 0) {
    // One document (e.g. one file): split its text instead.
    const std::string& d = docs[0];
    const auto cut = static_cast<size_t>((1.0 - c.validation_split) * static_cast<double>(d.size()));
    size_t at = cut;
    while (at < d.size() && (static_cast<unsigned char>(d[at]) & 0xC0) == 0x80) ++at;  // UTF-8 boundary
    out.train_text = d.substr(0, at);
    out.val_text = d.substr(at);
    return out;
  }
  const size_t n_train = docs.size() - static_cast<size_t>(out.val_documents);
  FORGE_CHECK(n_train > 0, "[lm] validation_split {} leaves no training documents out of {}", c.validation_split,
              docs.size());
  for (size_t i = 0; i < docs.size(); ++i) (i < n_train ? out.train_text : out.val_text) += docs[i] + "\n\n";
  return out;
}

// ------------------------------------------------------------------------------ training

namespace {

nlohmann::json gen_state_json(const Generator& g) {
  const auto s = g.state();
  return {{"s", std::vector<uint64_t>(s.s.begin(), s.s.end())}, {"spare", s.spare_normal}, {"has_spare", s.has_spare}};
}
void set_gen_state(Generator& g, const nlohmann::json& j) {
  Generator::State s{};
  const auto v = j.at("s").get<std::vector<uint64_t>>();
  std::copy(v.begin(), v.end(), s.s.begin());
  s.spare_normal = j.at("spare").get<double>();
  s.has_spare = j.at("has_spare").get<bool>();
  g.set_state(s);
}

struct Streams {
  std::vector<int32_t> train, val;
};

// Mean next-token loss over up to `windows` sequential windows of the stream.
double eval_loss(models::Gpt& model, const std::vector<int32_t>& ids, int64_t context, int64_t windows,
                 int64_t batch) {
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n < 2) return NAN;
  const int64_t T = std::min(context, n - 1);
  const int64_t total = std::min(windows, (n - 1) / T);
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  double sum = 0;
  int64_t count = 0;
  for (int64_t w0 = 0; w0 < total; w0 += batch) {
    const int64_t B = std::min(batch, total - w0);
    std::vector<int64_t> x(static_cast<size_t>(B * T)), y(static_cast<size_t>(B * T));
    for (int64_t b = 0; b < B; ++b) {
      const int64_t off = (w0 + b) * T;
      for (int64_t t = 0; t < T; ++t) {
        x[static_cast<size_t>(b * T + t)] = ids[static_cast<size_t>(off + t)];
        y[static_cast<size_t>(b * T + t)] = ids[static_cast<size_t>(off + t + 1)];
      }
    }
    Tensor logits = model.forward(from_vector<int64_t>(x, {B, T}));
    Tensor loss = sparse_categorical_cross_entropy_with_logits(logits.reshape({B * T, -1}),
                                                               from_vector<int64_t>(y, {B * T}));
    sum += loss.item() * static_cast<double>(B * T);
    count += B * T;
  }
  model.train(was_training);
  return sum / static_cast<double>(count);
}

double unigram_loss(const std::vector<int32_t>& train, const std::vector<int32_t>& val, int64_t vocab) {
  std::vector<double> counts(static_cast<size_t>(vocab), 1.0);  // add-one smoothing
  for (int32_t id : train) counts[static_cast<size_t>(id)] += 1;
  const double total = static_cast<double>(train.size()) + static_cast<double>(vocab);
  double sum = 0;
  for (size_t i = 1; i < val.size(); ++i) sum -= std::log(counts[static_cast<size_t>(val[i])] / total);
  return val.size() > 1 ? sum / static_cast<double>(val.size() - 1) : NAN;
}

}  // namespace

LmRunResult run_lm_training(const LmConfig& config, const RunOptions& options, int64_t stop_after) {
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  const auto wall0 = std::chrono::steady_clock::now();
  LmRunResult r;
  r.run_dir = options.out_dir.empty() ? (fs::path("runs") / config.name).string() : options.out_dir;
  r.model_dir = (fs::path(r.run_dir) / "model").string();
  const std::string ckpt = (fs::path(r.run_dir) / "checkpoint").string();
  const int64_t epochs = options.epochs > 0 ? options.epochs : config.epochs;

  // Data and tokenizer.
  LmCorpus corpus = load_lm_corpus(config);
  std::shared_ptr<const text::Tokenizer> tok;
  if (config.tokenizer == "char") {
    if (options.resume && fs::exists(fs::path(ckpt) / "tokenizer.json")) {
      tok = text::CharTokenizer::load((fs::path(ckpt) / "tokenizer.json").string());
    } else {
      // The alphabet of the whole corpus (validation characters included), so that every
      // character encodes and a prompt with a character never seen is a clear error.
      tok = text::CharTokenizer::fit(corpus.train_text + corpus.val_text);
    }
  } else if (options.resume && fs::exists(fs::path(ckpt) / "tokenizer.json")) {
    tok = text::BpeTokenizer::load((fs::path(ckpt) / "tokenizer.json").string());
  } else {
    text::BpeTrainOptions bo;
    bo.vocab_size = static_cast<int32_t>(config.vocab_size);
    const auto t0 = std::chrono::steady_clock::now();
    tok = text::BpeTokenizer::train({corpus.train_text}, bo);
    log(fmt::format("trained a byte-level BPE with {} tokens in {:.1f} s", tok->vocab_size(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()));
  }
  Streams s{tok->encode(corpus.train_text), tok->encode(corpus.val_text)};
  models::GptConfig mc = config.model;
  mc.vocab_size = tok->vocab_size();
  const int64_t T = mc.context, B = config.batch_size;
  FORGE_CHECK(static_cast<int64_t>(s.train.size()) > T + 1,
              "[lm] the training stream has {} tokens, fewer than context + 2 = {}", s.train.size(), T + 2);
  log(fmt::format("data: {} documents ({} validation), {} train / {} validation tokens, {} tokenizer with {} ids",
                  corpus.documents, corpus.val_documents, s.train.size(), s.val.size(), tok->kind(),
                  tok->vocab_size()));

  auto model = std::make_shared<models::Gpt>(mc, config.seed);
  model->train();
  // A step's activations and gradients outgrow the allocator's default 256 MiB cache for
  // mid-sized GPTs (6 x 384, batch 8 x 256: ~0.5 GB); cached, the next step reuses them instead
  // of page-faulting fresh memory (~4% of a step).
  set_allocator_cache_limit(size_t{1} << 30);
  log(fmt::format("model: GPT {} layers x {} (heads {}, context {}, tied {}), {} parameters", mc.n_layer, mc.d_model,
                  mc.n_head, mc.context, mc.tie_weights, model->num_parameters()));

  // AdamW: decay matrices only (not biases and LayerNorm parameters).
  ParamGroup decay{{}, config.weight_decay, std::nullopt}, no_decay{{}, 0.0, std::nullopt};
  for (const auto& nt : model->named_parameters()) (nt.tensor.dim() >= 2 ? decay : no_decay).params.push_back(nt);
  AdamW opt({decay, no_decay},
            AdamWOptions{.lr = config.lr, .beta1 = config.beta1, .beta2 = config.beta2, .weight_decay = config.weight_decay});
  const int64_t tokens_per_step = B * T * config.accumulate;
  const int64_t steps_per_epoch =
      config.steps_per_epoch > 0 ? config.steps_per_epoch
                                 : std::max<int64_t>(1, static_cast<int64_t>(s.train.size()) / tokens_per_step);
  const int64_t total_steps = steps_per_epoch * epochs;
  WarmupCosine schedule(config.lr, config.warmup_steps, total_steps, config.min_lr);

  Generator window_gen(config.seed + 17);
  int64_t start_epoch = 0, step = 0, cursor = 0;
  History history;
  auto modules = model->named_modules();
  if (options.resume) {
    FORGE_CHECK(fs::exists(fs::path(ckpt) / "state.json"), "[lm] --resume: no checkpoint in {}", ckpt);
    const auto st = nlohmann::json::parse(read_file((fs::path(ckpt) / "state.json").string(), "lm"));
    SafetensorsFile w = load_safetensors((fs::path(ckpt) / "model.safetensors").string());
    NamedTensors state;
    for (const auto& [n, t] : w.tensors) state.push_back({n, t});
    model->load_state(state);
    load_optimizer_state((fs::path(ckpt) / "optimizer.safetensors").string(), opt);
    start_epoch = st.at("next_epoch").get<int64_t>();
    step = st.at("step").get<int64_t>();
    cursor = st.at("cursor").get<int64_t>();
    set_gen_state(window_gen, st.at("window_generator"));
    const auto& mg = st.at("module_generators");
    for (auto& [n, m] : modules) set_gen_state(m->generator(), mg.at(n.empty() ? "." : n));
    for (const auto& e : st.at("history")) history.epochs.push_back(e.get<std::map<std::string, double>>());
    log(fmt::format("resumed from {} at epoch {} (step {})", ckpt, start_epoch + 1, step));
  }
  fs::create_directories(r.run_dir);
  CsvLogger csv((fs::path(r.run_dir) / "history.csv").string(), options.resume);

  const int64_t n_train = static_cast<int64_t>(s.train.size());
  std::vector<int64_t> xb(static_cast<size_t>(B * T)), yb(static_cast<size_t>(B * T));
  double train_seconds = 0;
  int64_t tokens_trained = 0;
  for (int64_t epoch = start_epoch; epoch < epochs; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t loss_count = 0;
    double last_lr = 0;
    for (int64_t si = 0; si < steps_per_epoch; ++si, ++step) {
      for (int64_t micro = 0; micro < config.accumulate; ++micro) {
        for (int64_t b = 0; b < B; ++b) {
          int64_t off;
          if (config.windows == "random") {
            off = static_cast<int64_t>(window_gen.below(static_cast<uint64_t>(n_train - T)));
          } else {
            if (cursor + T + 1 > n_train) cursor = 0;
            off = cursor;
            cursor += T;
          }
          for (int64_t t = 0; t < T; ++t) {
            xb[static_cast<size_t>(b * T + t)] = s.train[static_cast<size_t>(off + t)];
            yb[static_cast<size_t>(b * T + t)] = s.train[static_cast<size_t>(off + t + 1)];
          }
        }
        // bf16: matmuls (linear layers, attention) round their operands to bf16 in forward and
        // backward; parameters, gradients and AdamW state stay fp32.
        PrecisionGuard precision(parse_precision(config.precision));
        Tensor logits = model->forward(from_vector<int64_t>(xb, {B, T}));
        Tensor loss = sparse_categorical_cross_entropy_with_logits(logits.reshape({B * T, mc.vocab_size}),
                                                                   from_vector<int64_t>(yb, {B * T}));
        const double lv = loss.item();
        FORGE_CHECK(std::isfinite(lv), "[train] loss is {} at epoch {}, step {}; stopped", lv, epoch + 1, step + 1);
        loss_sum += lv;
        ++loss_count;
        (config.accumulate > 1 ? mul(loss, 1.0 / static_cast<double>(config.accumulate)) : loss).backward();
      }
      if (config.clip_norm > 0) clip_grad_norm(opt.params(), config.clip_norm);
      schedule.apply(opt, step);
      last_lr = opt.lr();
      opt.step();
      opt.zero_grad();
      tokens_trained += tokens_per_step;
      if (options.verbose > 0 && options.log && (si + 1) % std::max<int64_t>(1, steps_per_epoch / 10) == 0) {
        log(fmt::format("epoch {}/{} step {}/{} loss {:.4f} lr {:.2e}", epoch + 1, epochs, si + 1, steps_per_epoch,
                        loss_sum / static_cast<double>(loss_count), last_lr));
      }
    }
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::map<std::string, double> logs;
    logs["loss"] = loss_sum / static_cast<double>(loss_count);
    logs["lr"] = last_lr;
    if (!s.val.empty()) {
      logs["val_loss"] = eval_loss(*model, s.val, T, config.eval_windows, B);
      logs["val_perplexity"] = std::exp(logs["val_loss"]);
    }
    history.epochs.push_back(logs);
    std::vector<std::pair<std::string, double>> row(logs.begin(), logs.end());
    csv.log(epoch + 1, row);
    log(fmt::format("epoch {}/{}: loss {:.4f}{}", epoch + 1, epochs, logs["loss"],
                    s.val.empty() ? std::string()
                                  : fmt::format(", val_loss {:.4f}, val_perplexity {:.2f}", logs["val_loss"],
                                                logs["val_perplexity"])));
    // Checkpoint (state.json last: it marks the checkpoint complete).
    fs::create_directories(ckpt);
    std::vector<std::pair<std::string, Tensor>> w;
    for (const auto& nt : model->state()) w.emplace_back(nt.name, nt.tensor.detach());
    save_safetensors((fs::path(ckpt) / "model.safetensors").string(), w);
    save_optimizer_state((fs::path(ckpt) / "optimizer.safetensors").string(), opt);
    models::save_tokenizer(*tok, (fs::path(ckpt) / "tokenizer.json").string());
    nlohmann::json st;
    st["next_epoch"] = epoch + 1;
    st["step"] = step;
    st["cursor"] = cursor;
    st["window_generator"] = gen_state_json(window_gen);
    for (auto& [n, m] : modules) st["module_generators"][n.empty() ? "." : n] = gen_state_json(m->generator());
    st["history"] = history.epochs;
    {
      const std::string tmp = (fs::path(ckpt) / "state.json.tmp").string();
      std::ofstream f(tmp);
      f << st.dump();
      f.close();
      fs::rename(tmp, fs::path(ckpt) / "state.json");
    }
    ++r.epochs_run;
    if (stop_after > 0 && r.epochs_run >= stop_after) break;
  }

  model->eval();
  models::save_gpt_dir(r.model_dir, *model, *tok);
  r.history = history;
  r.train_seconds = train_seconds;
  r.tokens_per_second = train_seconds > 0 ? static_cast<double>(tokens_trained) / train_seconds : 0;
  r.val_loss = history.epochs.empty() || !history.epochs.back().count("val_loss") ? NAN
                                                                                     : history.epochs.back().at("val_loss");
  r.val_perplexity = std::exp(r.val_loss);
  r.unigram_val_loss = unigram_loss(s.train, s.val, mc.vocab_size);

  // A sample generation for the record.
  {
    models::GptLM lm(model, tok, config.name);
    std::string prompt = config.sample_prompt;
    if (prompt.empty()) {
      const auto cps = text::split_utf8(corpus.val_text.empty() ? corpus.train_text : corpus.val_text);
      for (size_t i = 0; i < std::min<size_t>(cps.size(), 8); ++i) prompt += cps[i];
    }
    llm::GenerateOptions go;
    go.max_tokens = std::min<int64_t>(200, mc.context - 1 - static_cast<int64_t>(tok->encode(prompt).size()));
    go.sampling.temperature = 0.8f;
    go.sampling.seed = config.seed;
    if (go.max_tokens > 0) r.sample = prompt + llm::generate(lm, tok->encode(prompt), go).text;
  }

  r.metrics = {{"name", config.name},
               {"task", "language_model"},
               {"parameters", model->num_parameters()},
               {"train_tokens", s.train.size()},
               {"val_tokens", s.val.size()},
               {"tokenizer", tok->kind()},
               {"vocab_size", mc.vocab_size},
               {"epochs", history.epochs.size()},
               {"steps", step},
               {"history", history.epochs},
               {"train_seconds", train_seconds},
               {"tokens_per_second", r.tokens_per_second},
               {"precision", config.precision},
               {"sample", r.sample},
               {"wall_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count()}};
  if (std::isfinite(r.val_loss)) {
    r.metrics["val_loss"] = r.val_loss;
    r.metrics["val_perplexity"] = r.val_perplexity;
    r.metrics["unigram_val_loss"] = r.unigram_val_loss;
  }
  {
    std::ofstream f(fs::path(r.run_dir) / "metrics.json");
    f << r.metrics.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  const PlotResult plots = plot_history(history, r.run_dir);
  if (!plots.warning.empty()) log("warning: " + plots.warning);
  log(fmt::format("saved model to {}", r.model_dir));
  return r;
}

}  // namespace forge::train
