#pragma once
// Keras-style callbacks for Model::fit, and make_callbacks to build them from a config.
//
// "monitor" names a log key ("val_loss", "accuracy", ...). mode "auto" means max for names
// containing accuracy/auc/precision/recall/f1/r2 and min otherwise. When the monitored value
// is absent (e.g. "val_loss" without validation data) the callback falls back to the name
// without "val_" and says so once on stderr.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <string>

#include "formats/tensorboard.h"
#include "optim/schedule.h"
#include "train/csv_logger.h"
#include "train/model.h"

namespace forge::train {

// Tracks the best value of a monitored metric (shared by the callbacks below).
class Monitor {
 public:
  Monitor(std::string monitor, std::string mode, double min_delta = 0);
  // True when logs[monitor] improves on the best so far by more than min_delta (updating it).
  // NaN never improves. Throws naming the available keys when the key is missing.
  bool improved(const std::map<std::string, double>& logs);
  double best() const { return best_; }
  const std::string& name() const { return monitor_; }
  double value(const std::map<std::string, double>& logs);  // the monitored value
  // Best value so far (null before the first) for checkpoints.
  nlohmann::json state() const;
  void load_state(const nlohmann::json& state);

 private:
  std::string monitor_;
  bool maximize_;
  double min_delta_;
  double best_;
  bool warned_ = false;
};

// Stops training when the monitored value has not improved for `patience` epochs; optionally
// restores the weights of the best epoch at the end of training.
class EarlyStopping : public Callback {
 public:
  EarlyStopping(std::string monitor = "val_loss", int64_t patience = 0, double min_delta = 0, std::string mode = "auto",
                bool restore_best_weights = false);
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) override;
  void on_train_end(Model& model) override;
  int64_t stopped_epoch() const { return stopped_epoch_; }  // -1 when it did not stop training
  int64_t best_epoch() const { return best_epoch_; }
  std::string state_name() const override { return "EarlyStopping"; }
  nlohmann::json state() const override;  // wait, best epoch, best value
  NamedTensors state_tensors() const override { return best_state_; }  // best weights (restore_best_weights)
  void load_state(const nlohmann::json& state, const NamedTensors& tensors) override;

 private:
  Monitor monitor_, initial_;
  int64_t patience_;
  bool restore_;
  int64_t wait_ = 0, stopped_epoch_ = -1, best_epoch_ = -1;
  NamedTensors best_state_;
};

// Writes checkpoints (Model::save_checkpoint) to dir/last after every epoch and to dir/best
// when the monitored value improves (save_best_only: only dir/best).
class ModelCheckpoint : public Callback {
 public:
  ModelCheckpoint(std::string dir, std::string monitor = "val_loss", bool save_best_only = false,
                  std::string mode = "auto");
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) override;
  const std::string& dir() const { return dir_; }
  std::string state_name() const override { return "ModelCheckpoint"; }
  nlohmann::json state() const override { return {{"monitor", monitor_.state()}}; }
  void load_state(const nlohmann::json& state, const NamedTensors&) override { monitor_.load_state(state.at("monitor")); }

 private:
  std::string dir_;
  Monitor monitor_;
  bool save_best_only_;
  History history_;
};

// Multiplies the learning rate by `factor` when the monitored value has not improved for
// `patience` epochs (not below min_lr), then waits `cooldown` epochs.
class ReduceLROnPlateau : public Callback {
 public:
  ReduceLROnPlateau(std::string monitor = "val_loss", double factor = 0.1, int64_t patience = 10, double min_lr = 0,
                    double min_delta = 1e-4, std::string mode = "auto", int64_t cooldown = 0);
  void on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) override;
  std::string state_name() const override { return "ReduceLROnPlateau"; }
  nlohmann::json state() const override;  // wait, cooldown left, best value (the LR is in the optimizer state)
  void load_state(const nlohmann::json& state, const NamedTensors& tensors) override;

 private:
  Monitor monitor_;
  double factor_, min_lr_;
  int64_t patience_, cooldown_;
  int64_t wait_ = 0, cooldown_left_ = 0;
};

// Sets the learning rate to schedule->lr_at(epoch) at the start of each epoch (Keras'
// LearningRateScheduler is per epoch; CompileOptions::schedule is per step).
class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(std::shared_ptr<LRSchedule> schedule);
  void on_epoch_begin(Model& model, int64_t epoch) override;

 private:
  std::shared_ptr<LRSchedule> schedule_;
};

// Appends one row per epoch (epoch, then every log value) to a CSV file (appends when the
// file exists and training resumes at initial_epoch > 0, else starts a fresh file).
class CSVLoggerCallback : public Callback {
 public:
  explicit CSVLoggerCallback(std::string path, bool append = false);
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) override;

 private:
  std::string path_;
  bool append_;
  std::unique_ptr<CsvLogger> logger_;
};

// Stops training when a batch loss is NaN or infinite (fit also does so by itself; this
// callback exists for Keras parity and reports the step).
class TerminateOnNaN : public Callback {
 public:
  void on_batch_end(Model& model, int64_t step, const std::map<std::string, double>& logs) override;
  bool terminated() const { return terminated_; }

 private:
  bool terminated_ = false;
};

// TensorBoard scalars: "batch/<key>" per step (global step) and "epoch/<key>" per epoch.
class TensorBoardCallback : public Callback {
 public:
  explicit TensorBoardCallback(std::string logdir, int64_t update_freq = 1);
  void on_train_begin(Model& model) override;
  void on_epoch_begin(Model& model, int64_t epoch) override;
  void on_batch_end(Model& model, int64_t step, const std::map<std::string, double>& logs) override;
  void on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) override;
  void on_train_end(Model& model) override;
  std::string event_file() const { return writer_ ? writer_->path() : ""; }

 private:
  std::string logdir_;
  int64_t update_freq_;
  std::unique_ptr<TensorBoardWriter> writer_;
  int64_t global_step_ = 0;
};

// Progress output. verbose 0: silent; 1: on a TTY one updating line (bar, step/total, ETA,
// samples/s, running loss and metrics), otherwise plain lines every ~10% of an epoch plus an
// end-of-epoch line; 2: one line per epoch. json: one JSON object per epoch on `out` instead.
// fit() adds one automatically from FitOptions::verbose/json unless the callbacks already hold one.
class ProgressBar : public Callback {
 public:
  explicit ProgressBar(int verbose = 1, bool json = false, std::FILE* out = stdout);
  // Set by fit() before training: epochs, batches per epoch, samples per epoch.
  void set_plan(int64_t epochs, int64_t steps, int64_t samples);
  void force_tty(bool tty) { tty_ = tty; }  // for tests
  void on_epoch_begin(Model& model, int64_t epoch) override;
  void on_batch_end(Model& model, int64_t step, const std::map<std::string, double>& logs) override;
  void on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) override;

 private:
  int verbose_;
  bool json_;
  std::FILE* out_;
  bool tty_;
  int64_t epochs_ = 0, steps_ = 0, samples_ = 0, epoch_ = 0;
  int64_t last_decile_ = -1;
  double start_ = 0, last_draw_ = 0;
};

// Builds callbacks from a config object; keys (all optional):
//   "early_stopping": {monitor, patience, min_delta, mode, restore_best_weights}
//   "model_checkpoint": {dir (default run_dir/checkpoints), monitor, save_best_only, mode} or true
//   "reduce_lr_on_plateau": {monitor, factor, patience, min_lr, min_delta, mode, cooldown}
//   "csv_logger": true | {path} (default run_dir/history.csv)
//   "tensorboard": true | {logdir, update_freq} (default run_dir/tensorboard)
//   "terminate_on_nan": true
// `false` disables an entry. Unknown keys or options throw, listing the valid ones.
std::vector<CallbackPtr> make_callbacks(const nlohmann::json& spec, const std::string& run_dir);

}  // namespace forge::train
