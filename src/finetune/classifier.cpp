// The BERT classifier recipe of `forge finetune`: a pretrained encoder (all-MiniLM-L6-v2 or any
// Hugging Face BERT directory) plus a Linear head, fine-tuned end to end with AdamW (no decay on
// biases and LayerNorm weights), linear warmup then linear decay to 0, gradient clipping and
// gradient accumulation whose loss is normalized over the whole accumulation window.
#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "core/parallel.h"
#include "data/dataset.h"
#include "data/text_datasets.h"
#include "finetune/classifier_recipe.h"
#include "finetune/finetune.h"
#include "models/checkpoint_tokenizer.h"
#include "nn/loss.h"
#include "ops/elementwise.h"
#include "optim/clip.h"
#include "optim/optimizers.h"
#include "optim/schedule.h"
#include "train/metrics.h"
#include "train/run.h"

namespace forge::finetune {

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- config

class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}
  const std::string& file() const { return file_; }

  [[noreturn]] void fail_at(const toml::node* node, const std::string& message) const {
    const auto line = node != nullptr ? static_cast<int64_t>(node->source().begin.line) : 0;
    if (line > 0) forge::fail("[finetune] {}:{}: {}", file_, line, message);
    forge::fail("[finetune] {}: {}", file_, message);
  }
  void check_keys(const toml::table& t, const std::string& section, const std::vector<std::string>& valid) const {
    for (const auto& [key, node] : t) {
      const std::string k(key.str());
      if (std::find(valid.begin(), valid.end(), k) != valid.end()) continue;
      std::string list;
      for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
      fail_at(&node, fmt::format("unknown key '{}' in {} (valid: {})", k, section, list));
    }
  }
  std::string str(const toml::table& t, const char* key, const std::string& section, std::string fallback) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return fallback;
    if (!n->is_string()) fail_at(n, fmt::format("'{}' in {} must be a string", key, section));
    return *n->value<std::string>();
  }
  double num(const toml::table& t, const char* key, const std::string& section, double fallback) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return fallback;
    if (!n->is_number()) fail_at(n, fmt::format("'{}' in {} must be a number", key, section));
    return *n->value<double>();
  }
  int64_t integer(const toml::table& t, const char* key, const std::string& section, int64_t fallback) const {
    const toml::node* n = t.get(key);
    if (n == nullptr) return fallback;
    if (!n->is_integer()) fail_at(n, fmt::format("'{}' in {} must be an integer", key, section));
    return *n->value<int64_t>();
  }
  // Relative paths are relative to the config file's folder.
  std::string path(const std::string& p) const {
    if (p.empty() || fs::path(p).is_absolute()) return p;
    return (fs::path(file_).parent_path() / p).lexically_normal().string();
  }

 private:
  std::string file_;
};

const toml::table& section(const Reader& r, const toml::table& root, const char* name) {
  static const toml::table kEmpty;
  const toml::node* n = root.get(name);
  if (n == nullptr) return kEmpty;
  if (!n->is_table()) r.fail_at(n, fmt::format("[{}] must be a table", name));
  return *n->as_table();
}

}  // namespace

ClassifierFinetuneConfig parse_classifier_config(const std::string& file) {
  Reader r(file);
  toml::table root;
  try {
    root = toml::parse_file(file);
  } catch (const toml::parse_error& e) {
    const auto& b = e.source().begin;
    fail("[finetune] {}:{}:{}: {}", file, b.line, b.column, e.description());
  }
  r.check_keys(root, "the top level", {"name", "model", "data", "train"});
  ClassifierFinetuneConfig c;
  c.name = r.str(root, "name", "the top level", fs::path(file).stem().string());
  const toml::table& m = section(r, root, "model");
  r.check_keys(m, "[model]", {"type", "path"});
  FORGE_CHECK(r.str(m, "type", "[model]", "") == "bert", "[finetune] {}: [model] type must be \"bert\" for this recipe",
              file);
  c.model_path = r.path(r.str(m, "path", "[model]", ""));
  if (c.model_path.empty()) r.fail_at(nullptr, "[model] path is required (a Hugging Face BERT directory)");
  if (!fs::is_directory(c.model_path)) {
    r.fail_at(m.get("path"), fmt::format("[model] path '{}' is not a directory (scripts/fetch_models.sh fetches "
                                         "all-minilm-l6-v2)",
                                         c.model_path));
  }
  const toml::table& d = section(r, root, "data");
  r.check_keys(d, "[data]", {"name", "text_file", "csv", "text_column", "target", "test_split", "validation_split",
                             "maxlen", "train_subset", "test_subset"});
  auto& dc = c.data;
  dc.name = r.str(d, "name", "[data]", "");
  dc.text_file = r.path(r.str(d, "text_file", "[data]", ""));
  dc.csv = r.path(r.str(d, "csv", "[data]", ""));
  dc.text_column = r.str(d, "text_column", "[data]", "");
  dc.target = r.str(d, "target", "[data]", "");
  dc.test_split = r.num(d, "test_split", "[data]", 0.2);
  dc.validation_split = r.num(d, "validation_split", "[data]", 0.1);
  dc.train_subset = r.integer(d, "train_subset", "[data]", 0);
  dc.test_subset = r.integer(d, "test_subset", "[data]", 0);
  c.maxlen = r.integer(d, "maxlen", "[data]", 128);
  FORGE_CHECK(!dc.name.empty() || !dc.text_file.empty() || !dc.text_column.empty(),
              "[finetune] {}: [data] needs name = \"fortunes\", text_file, or csv with text_column", file);
  FORGE_CHECK(dc.name.empty() || dc.name == "fortunes", "[finetune] {}: [data] name '{}' is not a text data set "
              "(valid: fortunes)", file, dc.name);
  FORGE_CHECK(dc.text_column.empty() || !dc.csv.empty(), "[finetune] {}: [data] text_column needs csv", file);
  FORGE_CHECK(dc.test_split > 0 && dc.test_split < 1, "[finetune] {}: [data] test_split must be in (0, 1), got {}",
              file, dc.test_split);
  FORGE_CHECK(dc.validation_split >= 0 && dc.validation_split < 1,
              "[finetune] {}: [data] validation_split must be in [0, 1), got {}", file, dc.validation_split);
  FORGE_CHECK(c.maxlen >= 2, "[finetune] {}: [data] maxlen must be >= 2 ([CLS] and [SEP]), got {}", file, c.maxlen);
  const toml::table& t = section(r, root, "train");
  r.check_keys(t, "[train]", {"epochs", "batch_size", "accumulation", "lr", "weight_decay", "warmup", "clip_norm",
                              "dropout", "seed", "threads", "log_every"});
  c.epochs = r.integer(t, "epochs", "[train]", c.epochs);
  c.batch_size = r.integer(t, "batch_size", "[train]", c.batch_size);
  c.accumulation = r.integer(t, "accumulation", "[train]", c.accumulation);
  c.lr = r.num(t, "lr", "[train]", c.lr);
  c.weight_decay = r.num(t, "weight_decay", "[train]", c.weight_decay);
  c.warmup = r.num(t, "warmup", "[train]", c.warmup);
  c.clip_norm = r.num(t, "clip_norm", "[train]", c.clip_norm);
  c.dropout = r.num(t, "dropout", "[train]", c.dropout);
  c.seed = static_cast<uint64_t>(r.integer(t, "seed", "[train]", 0));
  c.threads = static_cast<int>(r.integer(t, "threads", "[train]", 0));
  c.log_every = r.integer(t, "log_every", "[train]", c.log_every);
  FORGE_CHECK(c.epochs > 0, "[finetune] {}: [train] epochs must be > 0, got {}", file, c.epochs);
  FORGE_CHECK(c.batch_size > 0, "[finetune] {}: [train] batch_size must be > 0, got {}", file, c.batch_size);
  FORGE_CHECK(c.accumulation > 0, "[finetune] {}: [train] accumulation must be > 0, got {}", file, c.accumulation);
  FORGE_CHECK(c.lr > 0 && std::isfinite(c.lr), "[finetune] {}: [train] lr must be > 0, got {}", file, c.lr);
  FORGE_CHECK(c.weight_decay >= 0, "[finetune] {}: [train] weight_decay must be >= 0, got {}", file, c.weight_decay);
  FORGE_CHECK(c.warmup >= 0, "[finetune] {}: [train] warmup must be >= 0, got {}", file, c.warmup);
  FORGE_CHECK(c.clip_norm >= 0, "[finetune] {}: [train] clip_norm must be >= 0, got {}", file, c.clip_norm);
  FORGE_CHECK(c.dropout >= 0 && c.dropout < 1, "[finetune] {}: [train] dropout must be in [0, 1), got {}", file,
              c.dropout);
  FORGE_CHECK(c.threads >= 0, "[finetune] {}: [train] threads must be >= 0, got {}", file, c.threads);
  FORGE_CHECK(c.log_every > 0, "[finetune] {}: [train] log_every must be > 0, got {}", file, c.log_every);
  return c;
}

// ---------------------------------------------------------------- training pieces

bool uses_weight_decay(const std::string& n) {
  const bool bias = n.size() >= 5 && n.compare(n.size() - 5, 5, ".bias") == 0;
  return !bias && n.find("LayerNorm.") == std::string::npos;
}

std::vector<ParamGroup> weight_decay_groups(const nn::Module& model, double weight_decay) {
  ParamGroup decay, no_decay;
  decay.weight_decay = weight_decay;
  no_decay.weight_decay = 0.0;
  for (const auto& p : model.named_parameters()) (uses_weight_decay(p.name) ? decay : no_decay).params.push_back(p);
  return {decay, no_decay};
}

int64_t warmup_steps(double warmup, int64_t total) {
  FORGE_CHECK(warmup >= 0, "[finetune] warmup must be >= 0, got {}", warmup);
  if (warmup < 1) return static_cast<int64_t>(std::ceil(warmup * static_cast<double>(total)));
  return static_cast<int64_t>(warmup);
}

std::vector<std::vector<int64_t>> bucketed_windows(const std::vector<int64_t>& lengths, int64_t window,
                                                   uint64_t seed) {
  FORGE_CHECK(window > 0, "[finetune] window size must be > 0, got {}", window);
  const auto n = static_cast<int64_t>(lengths.size());
  std::vector<int64_t> order = shuffled_indices(n, seed);
  const int64_t pool = window * 50;
  for (int64_t s = 0; s < n; s += pool) {
    auto b = order.begin() + s, e = order.begin() + std::min(n, s + pool);
    std::stable_sort(b, e, [&](int64_t a, int64_t c) {
      return lengths[static_cast<size_t>(a)] < lengths[static_cast<size_t>(c)];
    });
  }
  std::vector<std::vector<int64_t>> windows;
  for (int64_t s = 0; s < n; s += window) {
    windows.emplace_back(order.begin() + s, order.begin() + std::min(n, s + window));
  }
  const std::vector<int64_t> perm = shuffled_indices(static_cast<int64_t>(windows.size()), seed + 1);
  std::vector<std::vector<int64_t>> out;
  out.reserve(windows.size());
  for (int64_t i : perm) out.push_back(std::move(windows[static_cast<size_t>(i)]));
  return out;
}

double accumulation_step(BertClassifier& model, Optimizer& optimizer, const std::vector<LabeledIds>& examples,
                         const std::vector<int64_t>& window, int64_t micro_batch, double clip_norm) {
  FORGE_CHECK(!window.empty(), "[finetune] an accumulation window needs at least one example");
  FORGE_CHECK(micro_batch > 0, "[finetune] micro-batch size must be > 0, got {}", micro_batch);
  optimizer.zero_grad();
  const auto total = static_cast<double>(window.size());
  double loss_sum = 0.0;
  for (size_t s = 0; s < window.size(); s += static_cast<size_t>(micro_batch)) {
    const size_t e = std::min(window.size(), s + static_cast<size_t>(micro_batch));
    std::vector<std::vector<int32_t>> ids;
    std::vector<int64_t> labels;
    for (size_t i = s; i < e; ++i) {
      const LabeledIds& ex = examples.at(static_cast<size_t>(window[i]));
      ids.push_back(ex.ids);
      labels.push_back(ex.label);
    }
    const TokenBatch b = make_token_batch(ids, model.config().pad_id);
    const Tensor y = from_vector<int64_t>(labels, {static_cast<int64_t>(labels.size())});
    const Tensor summed = sparse_categorical_cross_entropy_with_logits(model.logits(b.ids, b.mask), y, Reduction::kSum);
    loss_sum += summed.item();
    div(summed, total).backward();
  }
  if (clip_norm > 0) clip_grad_norm(optimizer.params(), clip_norm);
  optimizer.step();
  return loss_sum / total;
}

namespace {

struct EvalOut {
  double loss = 0, accuracy = 0, f1_macro = 0;
  Tensor predicted, target;  // int64 [N]
};

EvalOut evaluate(BertClassifier& model, const std::vector<LabeledIds>& data, int64_t batch_size) {
  NoGradGuard no_grad;
  model.eval();
  const auto n = static_cast<int64_t>(data.size());
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[static_cast<size_t>(i)] = i;
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return data[static_cast<size_t>(a)].ids.size() < data[static_cast<size_t>(b)].ids.size();
  });
  std::vector<int64_t> pred(static_cast<size_t>(n)), target(static_cast<size_t>(n));
  double loss = 0;
  for (int64_t s = 0; s < n; s += batch_size) {
    const int64_t e = std::min(n, s + batch_size);
    std::vector<std::vector<int32_t>> ids;
    std::vector<int64_t> labels;
    for (int64_t i = s; i < e; ++i) {
      ids.push_back(data[static_cast<size_t>(order[static_cast<size_t>(i)])].ids);
      labels.push_back(data[static_cast<size_t>(order[static_cast<size_t>(i)])].label);
    }
    const TokenBatch b = make_token_batch(ids, model.config().pad_id);
    const Tensor logits = model.logits(b.ids, b.mask).contiguous();
    const Tensor y = from_vector<int64_t>(labels, {e - s});
    loss += sparse_categorical_cross_entropy_with_logits(logits, y, Reduction::kSum).item();
    const int64_t C = logits.size(1);
    for (int64_t i = s; i < e; ++i) {
      const float* r = logits.data<float>() + (i - s) * C;
      const auto at = static_cast<size_t>(order[static_cast<size_t>(i)]);
      pred[at] = std::max_element(r, r + C) - r;
      target[at] = labels[static_cast<size_t>(i - s)];
    }
  }
  model.train();
  EvalOut out;
  out.predicted = from_vector<int64_t>(pred, {n});
  out.target = from_vector<int64_t>(target, {n});
  out.loss = loss / static_cast<double>(n);
  out.accuracy = metrics::accuracy(out.predicted, out.target);
  out.f1_macro = metrics::f1(out.predicted, out.target, metrics::Average::kMacro);
  return out;
}

std::vector<LabeledIds> encode_rows(const train::RawData& raw, const Tensor& rows, const Tensor& labels,
                                    const text::Tokenizer& tok, int64_t maxlen) {
  const std::vector<std::string> texts = train::rows_to_texts(raw, rows);
  const Tensor y = labels.to(DType::kI64).contiguous();
  std::vector<LabeledIds> out(texts.size());
  parallel_for(0, static_cast<int64_t>(texts.size()), 64, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      out[static_cast<size_t>(i)] = {encode_for_classifier(tok, texts[static_cast<size_t>(i)], maxlen),
                                     y.data<int64_t>()[i]};
    }
  });
  return out;
}

nlohmann::json data_json(const ClassifierFinetuneConfig& c) {
  return {{"name", c.data.name},         {"text_file", c.data.text_file},
          {"csv", c.data.csv},           {"text_column", c.data.text_column},
          {"target", c.data.target},     {"test_split", c.data.test_split},
          {"test_subset", c.data.test_subset}, {"seed", c.seed}};
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

nlohmann::json run_classifier_finetune(const FinetuneOptions& options) {
  const auto wall0 = std::chrono::steady_clock::now();
  ClassifierFinetuneConfig c = parse_classifier_config(options.config_path);
  if (options.epochs > 0) c.epochs = options.epochs;
  if (options.threads > 0) c.threads = options.threads;
  if (c.threads > 0) set_num_threads(c.threads);
  auto log = [&](const std::string& text, const nlohmann::json& j) {
    if (!options.log) return;
    options.log(options.json ? j.dump() : text);
  };
  const std::string run_dir = options.out_dir.empty() ? (fs::path("runs") / c.name).string() : options.out_dir;

  const int64_t max_positions = bert_config_from_dir(c.model_path).max_positions;
  FORGE_CHECK(c.maxlen <= max_positions, "[finetune] {}: [data] maxlen {} exceeds the model's {} positions",
              options.config_path, c.maxlen, max_positions);

  // Data: the same seeded test split as `forge train` (load_text_raw_data), and the same
  // validation split as prepare_data (split of the training rows with seed + 7).
  const train::RawData raw = train::load_text_raw_data(c.data, c.seed);
  Tensor x_train = raw.x_train, y_train = raw.y_train, x_val, y_val;
  if (c.data.validation_split > 0) {
    const auto parts = split(std::make_shared<TensorDataset>(raw.x_train, raw.y_train),
                             {1.0 - c.data.validation_split, c.data.validation_split}, c.seed + 7);
    FORGE_CHECK(parts[0]->size() > 0 && parts[1]->size() > 0,
                "[finetune] {} training texts are too few for a {:.0f}% validation split", raw.x_train.size(0),
                c.data.validation_split * 100);
    const Example a = materialize(*parts[0]), b = materialize(*parts[1]);
    x_train = a.x, y_train = a.y, x_val = b.x, y_val = b.y;
  }
  const auto num_classes = static_cast<int64_t>(raw.label_names.size());

  auto model = load_bert_classifier_from_hf(c.model_path, num_classes, c.dropout, c.seed);
  const text::TokenizerPtr tok = models::tokenizer_from_hf_dir(c.model_path);
  const std::vector<LabeledIds> train_set = encode_rows(raw, x_train, y_train, *tok, c.maxlen);
  const std::vector<LabeledIds> val_set =
      x_val.defined() ? encode_rows(raw, x_val, y_val, *tok, c.maxlen) : std::vector<LabeledIds>{};
  const std::vector<LabeledIds> test_set = encode_rows(raw, raw.x_test, raw.y_test, *tok, c.maxlen);
  std::vector<int64_t> lengths;
  for (const auto& e : train_set) lengths.push_back(static_cast<int64_t>(e.ids.size()));
  const std::string description =
      fmt::format("{}; {} train / {} validation / {} test, maxlen {}", raw.description, train_set.size(),
                  val_set.size(), test_set.size(), c.maxlen);
  log("data: " + description, {{"event", "data"}, {"description", description}});

  const int64_t window = c.batch_size * c.accumulation;
  const auto steps_per_epoch = static_cast<int64_t>((train_set.size() + static_cast<size_t>(window) - 1) /
                                                    static_cast<size_t>(window));
  int64_t total_steps = steps_per_epoch * c.epochs;
  if (options.max_steps > 0) total_steps = std::min(total_steps, options.max_steps);
  AdamWOptions ao;
  ao.lr = c.lr;
  ao.weight_decay = c.weight_decay;
  AdamW optimizer(weight_decay_groups(*model, c.weight_decay), ao);
  const WarmupLinear schedule(c.lr, warmup_steps(c.warmup, total_steps), total_steps);
  log(fmt::format("model: {} ({} parameters), {} classes; {} steps/epoch of {} x {} examples, {} steps, warmup {}",
                  c.model_path, model->num_parameters(), num_classes, steps_per_epoch, c.batch_size, c.accumulation,
                  total_steps, warmup_steps(c.warmup, total_steps)),
      {{"event", "model"}, {"parameters", model->num_parameters()}, {"steps", total_steps}});

  fs::create_directories(run_dir);
  std::ofstream history(fs::path(run_dir) / "history.csv");
  history << "epoch,steps,train_loss,val_loss,val_accuracy,val_f1_macro,lr,seconds,samples_per_second\n";
  nlohmann::json history_json = nlohmann::json::array();
  int64_t step = 0, samples = 0;
  double train_seconds = 0;
  model->train();
  for (int64_t epoch = 1; epoch <= c.epochs && step < total_steps; ++epoch) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto windows = bucketed_windows(lengths, window, c.seed * 1000003 + static_cast<uint64_t>(epoch));
    double loss_sum = 0;
    int64_t seen = 0, since_log = 0;
    auto tlog = std::chrono::steady_clock::now();
    for (const auto& w : windows) {
      if (step >= total_steps) break;
      schedule.apply(optimizer, step);
      const double loss = accumulation_step(*model, optimizer, train_set, w, c.batch_size, c.clip_norm);
      FORGE_CHECK(std::isfinite(loss), "[finetune] loss is {} at epoch {}, step {}; lower [train] lr", loss, epoch,
                  step + 1);
      ++step;
      loss_sum += loss * static_cast<double>(w.size());
      seen += static_cast<int64_t>(w.size());
      since_log += static_cast<int64_t>(w.size());
      if (step % c.log_every == 0 || step == total_steps) {
        const double sps = static_cast<double>(since_log) / std::max(1e-9, seconds_since(tlog));
        log(fmt::format("epoch {} step {}/{} loss {:.4f} lr {:.3g} {:.1f} samples/s", epoch, step, total_steps,
                        loss_sum / static_cast<double>(seen), optimizer.lr(), sps),
            {{"event", "step"}, {"epoch", epoch}, {"step", step}, {"loss", loss_sum / static_cast<double>(seen)},
             {"lr", optimizer.lr()}, {"samples_per_second", sps}});
        tlog = std::chrono::steady_clock::now();
        since_log = 0;
      }
    }
    const double secs = seconds_since(t0);
    train_seconds += secs;
    samples += seen;
    nlohmann::json row = {{"epoch", epoch},
                          {"steps", step},
                          {"train_loss", loss_sum / static_cast<double>(std::max<int64_t>(seen, 1))},
                          {"lr", optimizer.lr()},
                          {"seconds", secs},
                          {"samples_per_second", static_cast<double>(seen) / std::max(secs, 1e-9)}};
    std::string val_text;
    if (!val_set.empty()) {
      const EvalOut v = evaluate(*model, val_set, 2 * c.batch_size);
      row["val_loss"] = v.loss;
      row["val_accuracy"] = v.accuracy;
      row["val_f1_macro"] = v.f1_macro;
      val_text = fmt::format(" - val_loss {:.4f} val_accuracy {:.4f} val_f1_macro {:.4f}", v.loss, v.accuracy,
                             v.f1_macro);
    }
    history << fmt::format("{},{},{},{},{},{},{},{},{}\n", epoch, step, row["train_loss"].get<double>(),
                           row.value("val_loss", 0.0), row.value("val_accuracy", 0.0), row.value("val_f1_macro", 0.0),
                           optimizer.lr(), secs, row["samples_per_second"].get<double>());
    history.flush();
    history_json.push_back(row);
    nlohmann::json event = row;
    event["event"] = "epoch";
    log(fmt::format("epoch {}/{}: loss {:.4f}{} ({:.1f} s, {:.1f} samples/s)", epoch, c.epochs,
                    row["train_loss"].get<double>(), val_text, secs, row["samples_per_second"].get<double>()),
        event);
  }

  const EvalOut test = evaluate(*model, test_set, 2 * c.batch_size);
  log(fmt::format("test: loss {:.4f} accuracy {:.4f} macro-F1 {:.4f} ({} texts)", test.loss, test.accuracy,
                  test.f1_macro, test_set.size()),
      {{"event", "test"}, {"loss", test.loss}, {"accuracy", test.accuracy}, {"f1_macro", test.f1_macro}});
  TextClassifier clf{model, tok, raw.label_names, c.maxlen, data_json(c)};
  const std::string model_dir = (fs::path(run_dir) / "model").string();
  save_classifier(model_dir, clf, c.model_path);

  nlohmann::json m;
  m["run_dir"] = run_dir;
  m["model_dir"] = model_dir;
  m["name"] = c.name;
  m["data"] = description;
  m["test"] = {{"loss", test.loss}, {"accuracy", test.accuracy}, {"f1_macro", test.f1_macro},
               {"samples", test_set.size()}};
  m["history"] = history_json;
  m["steps"] = step;
  m["train_seconds"] = train_seconds;
  m["samples_per_second"] = static_cast<double>(samples) / std::max(train_seconds, 1e-9);
  m["wall_seconds"] = seconds_since(wall0);
  m["threads"] = num_threads();
  m["label_names"] = raw.label_names;
  const Tensor confusion = metrics::confusion_matrix(test.predicted, test.target, num_classes);
  nlohmann::json conf = nlohmann::json::array();
  for (int64_t i = 0; i < num_classes; ++i) {
    conf.push_back(std::vector<int64_t>(confusion.data<int64_t>() + i * num_classes,
                                        confusion.data<int64_t>() + (i + 1) * num_classes));
  }
  m["confusion"] = conf;
  {
    std::ofstream f(fs::path(run_dir) / "metrics.json");
    FORGE_CHECK(f.good(), "[finetune] cannot write {}/metrics.json", run_dir);
    f << m.dump(2) << "\n";
  }
  return m;
}

}  // namespace forge::finetune
