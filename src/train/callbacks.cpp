#include "train/callbacks.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "core/error.h"

namespace forge::train {
namespace {

using nlohmann::json;

double now_seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

bool maximize_for(const std::string& monitor, const std::string& mode) {
  FORGE_CHECK(mode == "auto" || mode == "min" || mode == "max", "[callbacks] mode must be auto, min or max, got '{}'",
              mode);
  if (mode != "auto") return mode == "max";
  for (const char* key : {"accuracy", "auc", "precision", "recall", "f1", "r2"})
    if (monitor.find(key) != std::string::npos) return true;
  return false;
}

std::string keys_of(const std::map<std::string, double>& logs) {
  std::string out;
  for (const auto& [k, v] : logs) out += (out.empty() ? "" : ", ") + k;
  return out;
}

std::string format_value(double v) { return fmt::format("{:.4g}", v); }

}  // namespace

// ---- Monitor

Monitor::Monitor(std::string monitor, std::string mode, double min_delta)
    : monitor_(std::move(monitor)), maximize_(maximize_for(monitor_, mode)), min_delta_(std::abs(min_delta)) {
  best_ = maximize_ ? -INFINITY : INFINITY;
}

double Monitor::value(const std::map<std::string, double>& logs) {
  auto it = logs.find(monitor_);
  if (it != logs.end()) return it->second;
  if (monitor_.rfind("val_", 0) == 0) {
    auto plain = logs.find(monitor_.substr(4));
    if (plain != logs.end()) {
      if (!warned_)
        std::fprintf(stderr, "[callbacks] '%s' is not available (no validation data); monitoring '%s' instead\n",
                     monitor_.c_str(), plain->first.c_str());
      warned_ = true;
      return plain->second;
    }
  }
  fail("[callbacks] cannot monitor '{}': not in the logs (available: {})", monitor_, keys_of(logs));
}

bool Monitor::improved(const std::map<std::string, double>& logs) {
  const double v = value(logs);
  if (std::isnan(v)) return false;
  const bool better = maximize_ ? v - min_delta_ > best_ : v + min_delta_ < best_;
  if (better) best_ = v;
  return better;
}

nlohmann::json Monitor::state() const {
  const bool none = std::isinf(best_);
  return {{"best", none ? json(nullptr) : json(best_)}};
}

void Monitor::load_state(const nlohmann::json& state) {
  const json& b = state.at("best");
  best_ = b.is_null() ? (maximize_ ? -INFINITY : INFINITY) : b.get<double>();
}

// ---- EarlyStopping

EarlyStopping::EarlyStopping(std::string monitor, int64_t patience, double min_delta, std::string mode,
                             bool restore_best_weights)
    : monitor_(std::move(monitor), std::move(mode), min_delta),
      initial_(monitor_),
      patience_(patience),
      restore_(restore_best_weights) {
  FORGE_CHECK(patience >= 0, "[early_stopping] patience must be >= 0, got {}", patience);
}

void EarlyStopping::on_train_begin(Model&) {
  monitor_ = initial_;
  wait_ = 0;
  stopped_epoch_ = -1;
  best_epoch_ = -1;
  best_state_.clear();
}

void EarlyStopping::on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) {
  if (monitor_.improved(logs)) {
    wait_ = 0;
    best_epoch_ = epoch;
    if (restore_) {
      NoGradGuard no_grad;
      best_state_.clear();
      for (const auto& t : model.network().state()) best_state_.push_back({t.name, t.tensor.detach().clone()});
    }
    return;
  }
  if (++wait_ > patience_) {
    stopped_epoch_ = epoch;
    model.stop_training();
  }
}

nlohmann::json EarlyStopping::state() const {
  return {{"wait", wait_}, {"best_epoch", best_epoch_}, {"monitor", monitor_.state()}};
}

void EarlyStopping::load_state(const nlohmann::json& state, const NamedTensors& tensors) {
  monitor_.load_state(state.at("monitor"));
  wait_ = state.at("wait").get<int64_t>();
  best_epoch_ = state.at("best_epoch").get<int64_t>();
  best_state_.clear();
  for (const auto& t : tensors) best_state_.push_back({t.name, t.tensor.clone()});
}

void EarlyStopping::on_train_end(Model& model) {
  if (restore_ && stopped_epoch_ >= 0 && !best_state_.empty()) model.network().load_state(best_state_);
}

// ---- ModelCheckpoint

ModelCheckpoint::ModelCheckpoint(std::string dir, std::string monitor, bool save_best_only, std::string mode)
    : dir_(std::move(dir)), monitor_(std::move(monitor), std::move(mode)), save_best_only_(save_best_only) {}

void ModelCheckpoint::on_train_begin(Model&) {}

void ModelCheckpoint::on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) {
  if (monitor_.improved(logs)) model.save_checkpoint(dir_ + "/best", epoch + 1, model.history());
  if (!save_best_only_) model.save_checkpoint(dir_ + "/last", epoch + 1, model.history());
}

// ---- ReduceLROnPlateau

ReduceLROnPlateau::ReduceLROnPlateau(std::string monitor, double factor, int64_t patience, double min_lr,
                                     double min_delta, std::string mode, int64_t cooldown)
    : monitor_(std::move(monitor), std::move(mode), min_delta),
      factor_(factor),
      min_lr_(min_lr),
      patience_(patience),
      cooldown_(cooldown) {
  FORGE_CHECK(factor > 0 && factor < 1, "[reduce_lr_on_plateau] factor must be in (0, 1), got {}", factor);
  FORGE_CHECK(patience >= 0 && cooldown >= 0, "[reduce_lr_on_plateau] patience and cooldown must be >= 0");
}

void ReduceLROnPlateau::on_epoch_end(Model& model, int64_t, std::map<std::string, double>& logs) {
  if (cooldown_left_ > 0) --cooldown_left_;
  if (monitor_.improved(logs)) {
    wait_ = 0;
    return;
  }
  if (cooldown_left_ > 0) return;
  if (++wait_ > patience_) {
    Optimizer& opt = model.optimizer();
    const double lr = std::max(opt.lr() * factor_, min_lr_);
    if (lr < opt.lr()) opt.set_lr(lr);
    wait_ = 0;
    cooldown_left_ = cooldown_;
  }
}

nlohmann::json ReduceLROnPlateau::state() const {
  return {{"wait", wait_}, {"cooldown_left", cooldown_left_}, {"monitor", monitor_.state()}};
}

void ReduceLROnPlateau::load_state(const nlohmann::json& state, const NamedTensors&) {
  monitor_.load_state(state.at("monitor"));
  wait_ = state.at("wait").get<int64_t>();
  cooldown_left_ = state.at("cooldown_left").get<int64_t>();
}

// ---- LearningRateScheduler

LearningRateScheduler::LearningRateScheduler(std::shared_ptr<LRSchedule> schedule) : schedule_(std::move(schedule)) {
  FORGE_CHECK(schedule_ != nullptr, "[lr_scheduler] the schedule is null");
}

void LearningRateScheduler::on_epoch_begin(Model& model, int64_t epoch) { schedule_->apply(model.optimizer(), epoch); }

// ---- CSVLoggerCallback

CSVLoggerCallback::CSVLoggerCallback(std::string path, bool append) : path_(std::move(path)), append_(append) {}

void CSVLoggerCallback::on_train_begin(Model& model) {
  const bool resume = !model.history().epochs.empty();
  logger_ = std::make_unique<CsvLogger>(path_, append_ || resume);
}

void CSVLoggerCallback::on_epoch_end(Model&, int64_t epoch, std::map<std::string, double>& logs) {
  std::vector<std::pair<std::string, double>> values(logs.begin(), logs.end());
  logger_->log(epoch, values);
}

// ---- TerminateOnNaN

void TerminateOnNaN::on_batch_end(Model& model, int64_t step, const std::map<std::string, double>& logs) {
  auto it = logs.find("batch_loss");
  if (it == logs.end()) it = logs.find("loss");
  if (it != logs.end() && !std::isfinite(it->second)) {
    std::fprintf(stderr, "[terminate_on_nan] batch %lld: invalid loss, terminating training\n",
                 static_cast<long long>(step + 1));
    terminated_ = true;
    model.stop_training();
  }
}

// ---- TensorBoardCallback

TensorBoardCallback::TensorBoardCallback(std::string logdir, int64_t update_freq)
    : logdir_(std::move(logdir)), update_freq_(std::max<int64_t>(1, update_freq)) {}

void TensorBoardCallback::on_train_begin(Model&) {
  if (!writer_) writer_ = std::make_unique<TensorBoardWriter>(logdir_);
}

void TensorBoardCallback::on_epoch_begin(Model&, int64_t) {}

void TensorBoardCallback::on_batch_end(Model& model, int64_t, const std::map<std::string, double>& logs) {
  global_step_ = model.optimizer().step_count();
  if (global_step_ % update_freq_ != 0) return;
  for (const auto& [k, v] : logs) writer_->add_scalar("batch/" + k, v, global_step_);
}

void TensorBoardCallback::on_epoch_end(Model&, int64_t epoch, std::map<std::string, double>& logs) {
  for (const auto& [k, v] : logs) writer_->add_scalar("epoch/" + k, v, epoch + 1);
  writer_->flush();
}

void TensorBoardCallback::on_train_end(Model&) {
  if (writer_) writer_->flush();
}

// ---- ProgressBar

ProgressBar::ProgressBar(int verbose, bool json, std::FILE* out)
    : verbose_(verbose), json_(json), out_(out), tty_(::isatty(::fileno(out)) != 0) {}

void ProgressBar::set_plan(int64_t epochs, int64_t steps, int64_t samples) {
  epochs_ = epochs;
  steps_ = steps;
  samples_ = samples;
}

void ProgressBar::on_epoch_begin(Model&, int64_t epoch) {
  epoch_ = epoch;
  start_ = now_seconds();
  last_draw_ = 0;
  last_decile_ = -1;
  if (verbose_ == 1 && !json_)
    std::fprintf(out_, "Epoch %lld/%lld\n", static_cast<long long>(epoch + 1), static_cast<long long>(epochs_));
}

namespace {
std::string metrics_text(const std::map<std::string, double>& logs, bool skip_batch) {
  std::string out;
  for (const auto& [k, v] : logs) {
    if (skip_batch && (k == "batch_loss" || k == "lr")) continue;
    if (k == "loss") continue;
    out += fmt::format(" - {}: {}", k, format_value(v));
  }
  auto it = logs.find("loss");
  return (it != logs.end() ? fmt::format(" - loss: {}", format_value(it->second)) : "") + out;
}
std::string duration_text(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}:{:02}:{:02}", t / 3600, (t / 60) % 60, t % 60);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}
}  // namespace

void ProgressBar::on_batch_end(Model&, int64_t step, const std::map<std::string, double>& logs) {
  if (verbose_ != 1 || json_ || steps_ <= 0) return;
  const int64_t done = step + 1;
  const double elapsed = now_seconds() - start_;
  const int64_t batch = (samples_ + steps_ - 1) / steps_;
  const double rate = elapsed > 0 ? static_cast<double>(std::min(samples_, done * batch)) / elapsed : 0;
  const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(steps_ - done) : 0;
  if (tty_) {
    const double t = now_seconds();
    if (done != steps_ && t - last_draw_ < 0.1) return;
    last_draw_ = t;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(kWidth * done / steps_);
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), '.');
    std::fprintf(out_, "\r\033[K%lld/%lld [%s] ETA %s - %.0f samples/s%s", static_cast<long long>(done),
                 static_cast<long long>(steps_), bar.c_str(), duration_text(eta).c_str(), rate,
                 metrics_text(logs, true).c_str());
    std::fflush(out_);
    return;
  }
  const int64_t decile = done * 10 / steps_;
  if (decile == last_decile_ || done == steps_) return;
  last_decile_ = decile;
  std::fprintf(out_, "  %lld/%lld - ETA %s - %.0f samples/s%s\n", static_cast<long long>(done),
               static_cast<long long>(steps_), duration_text(eta).c_str(), rate, metrics_text(logs, true).c_str());
  std::fflush(out_);
}

void ProgressBar::on_epoch_end(Model&, int64_t epoch, std::map<std::string, double>& logs) {
  const double elapsed = now_seconds() - start_;
  const double rate = elapsed > 0 ? static_cast<double>(samples_) / elapsed : 0;
  if (json_) {
    json j = {{"epoch", epoch + 1}, {"epochs", epochs_}, {"seconds", elapsed}, {"samples_per_second", rate}};
    for (const auto& [k, v] : logs) j[k] = std::isfinite(v) ? json(v) : json(fmt::format("{}", v));
    std::fprintf(out_, "%s\n", j.dump().c_str());
    std::fflush(out_);
    return;
  }
  if (verbose_ == 0) return;
  const std::string text = metrics_text(logs, false);
  if (verbose_ == 1) {
    if (tty_) std::fprintf(out_, "\r\033[K");
    std::fprintf(out_, "%lld/%lld - %.1fs - %.0f samples/s%s\n", static_cast<long long>(steps_),
                 static_cast<long long>(steps_), elapsed, rate, text.c_str());
  } else {
    std::fprintf(out_, "Epoch %lld/%lld - %.1fs - %.0f samples/s%s\n", static_cast<long long>(epoch + 1),
                 static_cast<long long>(epochs_), elapsed, rate, text.c_str());
  }
  std::fflush(out_);
}

// ---- make_callbacks

namespace {

class Spec {
 public:
  Spec(const json& j, std::string where, std::vector<std::string> valid) : j_(j), where_(std::move(where)) {
    if (j.is_boolean()) return;
    FORGE_CHECK(j.is_object(), "{} must be true, false or an object, got {}", where_, j.dump());
    for (const auto& [k, v] : j.items()) {
      bool ok = false;
      for (const auto& s : valid) ok = ok || s == k;
      std::string list;
      for (const auto& s : valid) list += (list.empty() ? "" : ", ") + s;
      FORGE_CHECK(ok, "{} unknown option '{}'; valid options: {}", where_, k, list);
    }
  }
  bool enabled() const { return !(j_.is_boolean() && !j_.get<bool>()); }
  std::string str(const std::string& k, const std::string& d) const {
    if (!j_.is_object() || !j_.contains(k)) return d;
    FORGE_CHECK(j_[k].is_string(), "{} option '{}' must be a string, got {}", where_, k, j_[k].dump());
    return j_[k].get<std::string>();
  }
  double num(const std::string& k, double d) const {
    if (!j_.is_object() || !j_.contains(k)) return d;
    FORGE_CHECK(j_[k].is_number(), "{} option '{}' must be a number, got {}", where_, k, j_[k].dump());
    return j_[k].get<double>();
  }
  int64_t integer(const std::string& k, int64_t d) const {
    if (!j_.is_object() || !j_.contains(k)) return d;
    FORGE_CHECK(j_[k].is_number_integer(), "{} option '{}' must be an integer, got {}", where_, k, j_[k].dump());
    return j_[k].get<int64_t>();
  }
  bool boolean(const std::string& k, bool d) const {
    if (!j_.is_object() || !j_.contains(k)) return d;
    FORGE_CHECK(j_[k].is_boolean(), "{} option '{}' must be true or false, got {}", where_, k, j_[k].dump());
    return j_[k].get<bool>();
  }

 private:
  const json& j_;
  std::string where_;
};

std::string under(const std::string& run_dir, const std::string& name) {
  return run_dir.empty() ? name : (std::filesystem::path(run_dir) / name).string();
}

}  // namespace

std::vector<CallbackPtr> make_callbacks(const nlohmann::json& spec, const std::string& run_dir) {
  std::vector<CallbackPtr> out;
  if (spec.is_null()) return out;
  FORGE_CHECK(spec.is_object(), "[callbacks] must be an object, got {}", spec.dump());
  const std::vector<std::string> valid = {"early_stopping", "model_checkpoint", "reduce_lr_on_plateau",
                                          "csv_logger",     "tensorboard",      "terminate_on_nan"};
  for (const auto& [key, value] : spec.items()) {
    bool ok = false;
    for (const auto& v : valid) ok = ok || v == key;
    FORGE_CHECK(ok,
                "[callbacks] unknown callback '{}'; valid callbacks: early_stopping, model_checkpoint, "
                "reduce_lr_on_plateau, csv_logger, tensorboard, terminate_on_nan",
                key);
  }
  if (spec.contains("terminate_on_nan")) {
    Spec s(spec["terminate_on_nan"], "[callbacks] terminate_on_nan:", {});
    if (s.enabled()) out.push_back(std::make_shared<TerminateOnNaN>());
  }
  if (spec.contains("reduce_lr_on_plateau")) {
    Spec s(spec["reduce_lr_on_plateau"], "[callbacks] reduce_lr_on_plateau:",
           {"monitor", "factor", "patience", "min_lr", "min_delta", "mode", "cooldown"});
    if (s.enabled())
      out.push_back(std::make_shared<ReduceLROnPlateau>(
          s.str("monitor", "val_loss"), s.num("factor", 0.1), s.integer("patience", 10), s.num("min_lr", 0),
          s.num("min_delta", 1e-4), s.str("mode", "auto"), s.integer("cooldown", 0)));
  }
  if (spec.contains("early_stopping")) {
    Spec s(spec["early_stopping"],
           "[callbacks] early_stopping:", {"monitor", "patience", "min_delta", "mode", "restore_best_weights"});
    if (s.enabled())
      out.push_back(std::make_shared<EarlyStopping>(s.str("monitor", "val_loss"), s.integer("patience", 0),
                                                    s.num("min_delta", 0), s.str("mode", "auto"),
                                                    s.boolean("restore_best_weights", false)));
  }
  if (spec.contains("csv_logger")) {
    Spec s(spec["csv_logger"], "[callbacks] csv_logger:", {"path", "append"});
    if (s.enabled())
      out.push_back(std::make_shared<CSVLoggerCallback>(s.str("path", under(run_dir, "history.csv")),
                                                        s.boolean("append", false)));
  }
  if (spec.contains("tensorboard")) {
    Spec s(spec["tensorboard"], "[callbacks] tensorboard:", {"logdir", "update_freq"});
    if (s.enabled())
      out.push_back(std::make_shared<TensorBoardCallback>(s.str("logdir", under(run_dir, "tensorboard")),
                                                          s.integer("update_freq", 1)));
  }
  // Last, so it saves after the other callbacks have updated the logs.
  if (spec.contains("model_checkpoint")) {
    Spec s(spec["model_checkpoint"], "[callbacks] model_checkpoint:", {"dir", "monitor", "save_best_only", "mode"});
    if (s.enabled())
      out.push_back(std::make_shared<ModelCheckpoint>(s.str("dir", under(run_dir, "checkpoints")),
                                                      s.str("monitor", "val_loss"), s.boolean("save_best_only", false),
                                                      s.str("mode", "auto")));
  }
  return out;
}

}  // namespace forge::train
