// A training run end to end: prepare data, build + compile the model, fit with per-epoch
// checkpoints, evaluate on the test split, save the model directory, metrics.json,
// history.csv and the plots.
#include "train/run.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "core/parallel.h"
#include "formats/byte_source.h"
#include "train/callbacks.h"
#include "train/csv_logger.h"
#include "train/metrics.h"
#include "train/plots.h"

namespace forge::train {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// Saves a checkpoint after every epoch whose loss is finite, so a crash or a NaN keeps the
// last good state.
class EpochCheckpoint : public Callback {
 public:
  EpochCheckpoint(std::string dir, History history) : dir_(std::move(dir)), history_(std::move(history)) {}
  void on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) override {
    const auto loss = logs.find("loss");
    if (!model.nan_message().empty() || (loss != logs.end() && !std::isfinite(loss->second))) return;
    history_.epochs.push_back(logs);
    model.save_checkpoint(dir_, epoch + 1, history_);
    last_good_epoch_ = epoch + 1;
  }
  int64_t last_good_epoch_ = 0;

 private:
  std::string dir_;
  History history_;
};

nlohmann::json epoch_history_json(const History& h) {
  nlohmann::json out = nlohmann::json::array();
  for (size_t e = 0; e < h.epochs.size(); ++e) {
    nlohmann::json row = {{"epoch", e + 1}};
    for (const auto& [k, v] : h.epochs[e]) row[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
    out.push_back(row);
  }
  return out;
}

nlohmann::json finite_map(const std::map<std::string, double>& m) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : m) out[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  return out;
}

void write_text_atomic(const std::string& path, const std::string& text) {
  write_file_atomic(path, [&](std::FILE* f) { std::fwrite(text.data(), 1, text.size(), f); });
}

// The model is `Dense(1)` without activation on one input feature: a line y = w x + b.
bool is_linear_1d(const RunConfig& config, const PreparedData& data) {
  if (data.raw.classification || data.raw.x_train.size(1) != 1 || config.layers.size() != 1) return false;
  const auto& layer = config.layers[0];
  return layer.value("type", "") == "Dense" && layer.value("units", 0) == 1 &&
         layer.value("activation", "linear") == "linear";
}

}  // namespace

std::string default_loss(bool classification) { return classification ? "sparse_categorical_crossentropy" : "mse"; }

double peak_rss_mb() {
  struct rusage usage {};
  ::getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux: KiB
}

RunResult run_training(const RunConfig& config, const RunOptions& options) {
  const auto wall_start = Clock::now();
  auto log = [&](const std::string& line) {
    if (options.log) options.log(line);
  };
  RunResult result;
  const TrainConfig& tc = config.train;
  const int threads = options.threads > 0 ? options.threads : tc.threads;
  if (threads > 0) set_num_threads(threads);
  const int64_t epochs = options.epochs > 0 ? options.epochs : tc.epochs;

  result.run_dir = options.out_dir.empty() ? (fs::path("runs") / config.name).string() : options.out_dir;
  result.model_dir = (fs::path(result.run_dir) / "model").string();
  result.checkpoint_dir = (fs::path(result.run_dir) / "checkpoint").string();
  if (options.resume) {
    FORGE_CHECK(fs::exists(fs::path(result.checkpoint_dir) / "checkpoint.json"),
                "[train] --resume: no checkpoint in {} (train without --resume first)", result.checkpoint_dir);
  }

  PreparedData data = prepare_data(config.data, tc.seed, tc.loss);
  result.data_description = data.description;
  result.label_names = data.raw.label_names;
  log("data: " + data.description);

  Model model = Model::from_config(config.layers, data.input_shape);
  CompileOptions co;
  co.optimizer = tc.optimizer;
  co.loss = data.loss;
  co.metrics = tc.metrics;
  co.schedule = tc.schedule;
  co.clip_norm = tc.clip_norm;
  co.clip_value = tc.clip_value;
  co.precision = tc.precision;
  model.compile(co);

  History previous;
  int64_t initial_epoch = 0;
  if (options.resume) {
    initial_epoch = model.load_checkpoint(result.checkpoint_dir, &previous);
    log(fmt::format("resuming from {} at epoch {}", result.checkpoint_dir, initial_epoch + 1));
  }
  fs::create_directories(result.run_dir);

  auto checkpoint = std::make_shared<EpochCheckpoint>(result.checkpoint_dir, previous);
  checkpoint->last_good_epoch_ = initial_epoch;
  FitOptions fo;
  fo.epochs = epochs;
  fo.initial_epoch = initial_epoch;
  fo.batch_size = tc.batch_size;
  fo.validation_data = data.validation;
  fo.callbacks = make_callbacks(config.callbacks, result.run_dir);
  fo.callbacks.push_back(checkpoint);
  fo.class_weight = tc.class_weight;
  fo.seed = tc.seed;
  fo.verbose = options.verbose;
  fo.json = options.json;

  History trained;
  const auto train_start = Clock::now();
  if (initial_epoch < epochs) {
    trained = model.fit(data.train, fo);
  } else {
    log(fmt::format("the checkpoint already holds {} epochs (asked for {}): nothing to train", initial_epoch, epochs));
  }
  result.train_seconds = seconds_since(train_start);
  if (!model.nan_message().empty()) {
    const std::string kept = checkpoint->last_good_epoch_ > 0
                                 ? fmt::format("the last good checkpoint (after epoch {}) is in {}",
                                               checkpoint->last_good_epoch_, result.checkpoint_dir)
                                 : std::string("no epoch finished, so there is no checkpoint");
    forge::fail("{}; {}; {} was not changed", model.nan_message(), kept, result.model_dir);
  }

  // fit() returns the epochs it trained; a resumed run prepends the checkpoint's history.
  result.history = previous;
  if (trained.epochs.size() > static_cast<size_t>(epochs - initial_epoch)) {
    result.history = trained;
  } else {
    result.history.epochs.insert(result.history.epochs.end(), trained.epochs.begin(), trained.epochs.end());
  }
  result.epochs_run = static_cast<int64_t>(trained.epochs.size());
  result.samples_per_second = result.train_seconds > 0 && result.epochs_run > 0
                                  ? static_cast<double>(data.train->size() * result.epochs_run) / result.train_seconds
                                  : 0;

  result.test_metrics = model.evaluate(data.test, std::max<int64_t>(tc.batch_size, 256));
  if (data.raw.classification) {
    const Tensor pred = model.predict(data.test->x());
    result.confusion = metrics::confusion_matrix(pred, data.test->y(), std::max<int64_t>(2, data.num_classes));
  }

  model.extra() = {{"preprocessing", data.preprocessing},
                   {"label_names", data.raw.label_names},
                   {"task", data.raw.classification ? "classification" : "regression"},
                   {"config", config.to_json()},
                   {"data", data.description}};
  model.save(result.model_dir);
  log("saved the model to " + result.model_dir);

  // history.csv: one row per epoch (all of them, resumed ones included).
  {
    const std::string path = (fs::path(result.run_dir) / "history.csv").string();
    CsvLogger csv(path, false);
    for (size_t e = 0; e < result.history.epochs.size(); ++e) {
      std::vector<std::pair<std::string, double>> row(result.history.epochs[e].begin(), result.history.epochs[e].end());
      csv.log(static_cast<int64_t>(e) + 1, row);
    }
  }

  // Plots (never fatal).
  PlotResult plots = plot_history(result.history, result.run_dir);
  result.plots = plots.files;
  result.plot_warning = plots.warning;
  nlohmann::json extra = nlohmann::json::object();
  if (result.confusion.defined() && plots.warning.empty()) {
    const PlotResult cm = plot_confusion(result.confusion, result.label_names,
                                         (fs::path(result.run_dir) / "confusion_matrix.png").string());
    result.plots.insert(result.plots.end(), cm.files.begin(), cm.files.end());
    if (!cm.warning.empty()) result.plot_warning = cm.warning;
  }
  if (is_linear_1d(config, data)) {
    // The learned line in the raw x units: b = f(0), w = f(1) - f(0).
    const Tensor probe = apply_preprocessing(data.preprocessing, from_vector(std::vector<float>{0.f, 1.f}, {2, 1}));
    const Tensor out = model.predict(probe).contiguous();
    const double b = out.data<float>()[0];
    const double w = out.data<float>()[1] - b;
    extra["line"] = {{"w", w}, {"b", b}};
    if (plots.warning.empty()) {
      const std::vector<float> xs = data.raw.x_train.contiguous().to_vector<float>();
      const std::vector<float> ys = data.raw.y_train.to(DType::kF32).contiguous().to_vector<float>();
      const PlotResult fit =
          plot_scatter_fit(std::vector<double>(xs.begin(), xs.end()), std::vector<double>(ys.begin(), ys.end()), w, b,
                           (fs::path(result.run_dir) / "fit.png").string());
      result.plots.insert(result.plots.end(), fit.files.begin(), fit.files.end());
    }
  }

  result.peak_rss_mb = peak_rss_mb();
  result.wall_seconds = seconds_since(wall_start);
  nlohmann::json m = {{"name", config.name},
                      {"data", data.description},
                      {"test", finite_map(result.test_metrics)},
                      {"history", epoch_history_json(result.history)},
                      {"epochs", result.history.epochs.size()},
                      {"epochs_run", result.epochs_run},
                      {"train_samples", data.train->size()},
                      {"test_samples", data.test->size()},
                      {"samples_per_second", result.samples_per_second},
                      {"train_seconds", result.train_seconds},
                      {"wall_seconds", result.wall_seconds},
                      {"peak_rss_mb", result.peak_rss_mb},
                      {"threads", num_threads()},
                      {"plots", result.plots},
                      {"config", config.to_json()}};
  if (result.confusion.defined()) {
    const Tensor cm = result.confusion.to(DType::kI64).contiguous();
    const int64_t c = cm.size(0);
    nlohmann::json rows = nlohmann::json::array();
    for (int64_t i = 0; i < c; ++i) {
      rows.push_back(std::vector<int64_t>(cm.data<int64_t>() + i * c, cm.data<int64_t>() + (i + 1) * c));
    }
    m["confusion_matrix"] = rows;
    m["label_names"] = result.label_names;
  }
  for (const auto& [k, v] : extra.items()) m[k] = v;
  if (!result.plot_warning.empty()) m["plot_warning"] = result.plot_warning;
  result.metrics = m;
  write_text_atomic((fs::path(result.run_dir) / "metrics.json").string(), m.dump(2) + "\n");
  return result;
}

}  // namespace forge::train
