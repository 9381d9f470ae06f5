#pragma once
// Keras-style training API: Model wraps an nn::Module and adds compile / fit / evaluate /
// predict / summary, callbacks and persistence.
//
//   auto net = std::make_shared<nn::Sequential>(...);
//   train::Model model(net, {1, 28, 28});            // input shape without the batch axis
//   model.compile({.optimizer = {{"name", "adam"}, {"lr", 1e-3}},
//                  .loss = "sparse_categorical_crossentropy", .metrics = {"accuracy"}});
//   train::History h = model.fit(train_data, {.epochs = 10, .batch_size = 64, .validation_split = 0.1});
//   auto scores = model.evaluate(test_data);           // {"loss": .., "accuracy": ..}
//   Tensor probs = model.predict(x);
//   model.save("runs/cnn/model");                      // model directory (see save_model)
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/dataset.h"
#include "nn/module.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"
#include "train/metrics.h"

namespace forge::train {

class Model;

// Per-epoch values: "loss", "accuracy", "val_loss", "val_accuracy", "lr", ...
struct History {
  std::vector<std::map<std::string, double>> epochs;
  std::vector<double> column(const std::string& key) const;
};

// Hooks called by fit(). `logs` holds the current values (metric names as in History).
class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Model& model) {}
  virtual void on_train_end(Model& model) {}
  virtual void on_epoch_begin(Model& model, int64_t epoch) {}
  virtual void on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>& logs) {}
  virtual void on_batch_end(Model& model, int64_t step, const std::map<std::string, double>& logs) {}

  // Resumable state, saved in checkpoints written during fit() and restored by fit() after
  // on_train_begin when the model was loaded from a checkpoint (so EarlyStopping's patience
  // counter, ReduceLROnPlateau's wait/cooldown and the best values survive --resume).
  // state_name() "" means stateless; tensors (e.g. best weights) go to callbacks.safetensors.
  virtual std::string state_name() const { return ""; }
  virtual nlohmann::json state() const { return nullptr; }
  virtual NamedTensors state_tensors() const { return {}; }
  virtual void load_state(const nlohmann::json& state, const NamedTensors& tensors) {}
};
using CallbackPtr = std::shared_ptr<Callback>;

struct CompileOptions {
  // {"name": "sgd"|"adam"|"adamw"|"rmsprop"|"adagrad", "lr": .., plus that optimizer's options}
  nlohmann::json optimizer = {{"name", "adam"}};
  // mse, mae, huber, binary_crossentropy, categorical_crossentropy,
  // sparse_categorical_crossentropy (from probabilities, Keras semantics; "_from_logits" variants
  // take logits).
  std::string loss = "sparse_categorical_crossentropy";
  std::vector<std::string> metrics;  // names accepted by metrics::make_metric
  nlohmann::json schedule;           // optional LR schedule spec {"name": "cosine", ...}
  double clip_norm = 0;              // > 0: clip gradients by global norm
  double clip_value = 0;             // > 0: clip gradients by value
  std::string precision = "fp32";    // "fp32" | "bf16" (bf16 matmuls, fp32 master weights)
};

struct FitOptions {
  int64_t epochs = 1;
  int64_t initial_epoch = 0;  // resume point
  int64_t batch_size = 32;
  double validation_split = 0;  // last fraction of the training data, like Keras
  DatasetPtr validation_data;   // takes precedence over validation_split
  std::vector<CallbackPtr> callbacks;
  std::map<int64_t, double> class_weight;  // class id -> weight of its samples in the loss
  bool shuffle = true;
  uint64_t seed = 0;
  int verbose = 1;  // 0 silent, 1 progress bar (plain lines when not a TTY), 2 one line per epoch
  bool json = false;  // progress as JSON lines on stdout
  int prefetch = 1;   // batches prepared ahead by the DataLoader
};

class Model {
 public:
  // input_shape excludes the batch axis; the network is built on it (lazy layers get sizes).
  Model(std::shared_ptr<nn::Module> network, Shape input_shape);

  void compile(const CompileOptions& options);
  History fit(const DatasetPtr& train, const FitOptions& options);
  // Mean loss and every compiled metric over the data set.
  std::map<std::string, double> evaluate(const DatasetPtr& data, int64_t batch_size = 256);
  // Forward in eval mode without autograd, batched.
  Tensor predict(const Tensor& x, int64_t batch_size = 256);
  // Keras-style table: layer (type), output shape, params; totals at the end.
  std::string summary() const;

  nn::Module& network() { return *network_; }
  const std::shared_ptr<nn::Module>& network_ptr() const { return network_; }
  const Shape& input_shape() const { return input_shape_; }
  Optimizer& optimizer();
  const CompileOptions& compile_options() const { return compile_options_; }
  bool compiled() const { return optimizer_ != nullptr; }
  void stop_training() { stop_training_ = true; }  // callbacks (EarlyStopping) call this

  // ---- configs and persistence (model directory = model.safetensors + model.json)
  // Builds a Sequential from Keras-style layer specs (nn/factory.h) and builds it on
  // input_shape; shape errors name the layer and the shapes. Keeps the specs for save().
  static Model from_config(const nlohmann::json& layers, Shape input_shape);
  // The layer specs given to from_config (null for models built from a network).
  const nlohmann::json& layer_specs() const { return layer_specs_; }
  // Free-form JSON saved with the model: preprocessing, label names, training config, ...
  nlohmann::json& extra() { return extra_; }
  const nlohmann::json& extra() const { return extra_; }
  // Writes dir/model.safetensors (parameters + buffers) and dir/model.json (format, input_shape,
  // layers, compile options, extra). Crash-safe: written into "<dir>.tmp", fsynced, then swapped
  // in atomically, so `dir` always holds a complete model. Models built from a network without
  // layer specs save their weights, but load() needs the specs to rebuild the network.
  void save(const std::string& dir) const;
  // Loads a model directory written by save() (compiled again when it was compiled). Throws
  // "[load_model] DIR: ..." naming the missing or corrupt file.
  static Model load(const std::string& dir);
  // Checkpoint directory: the model directory files plus optimizer.safetensors (optimizer
  // state), checkpoint.json (next_epoch, history, the modules' generator states, the running
  // fit()'s callback states) and callbacks.safetensors when a callback keeps tensors.
  // Crash-safe like save(). The model must be compiled.
  void save_checkpoint(const std::string& dir, int64_t next_epoch, const History& history) const;
  // Restores weights, optimizer state and generator states; returns next_epoch (pass it as
  // FitOptions::initial_epoch) and fills *history when given. Callback states are kept and
  // handed to the matching callbacks (same state_name, in order) by the next fit(). The model
  // must be compiled.
  int64_t load_checkpoint(const std::string& dir, History* history);
  // The step/epoch where fit() stopped for a NaN loss ("" when it did not).
  const std::string& nan_message() const { return nan_message_; }
  // Every epoch known to the model: those of a loaded checkpoint plus those fit() ran since
  // (fit() itself returns only the epochs it ran, like Keras).
  const History& history() const { return history_; }
  // The compiled LR schedule (null when none).
  const std::shared_ptr<LRSchedule>& schedule() const { return schedule_; }

  // Test hook for crash-safety tests: called with the path of each file after it is written
  // into the temporary directory; throwing from it simulates a crash mid-write.
  static void set_write_hook(std::function<void(const std::string& path)> hook);

 private:
  friend struct ModelAccess;
  void build_network();
  void write_dir(const std::string& dir, const std::function<void(const std::string& tmp)>& extra_files) const;
  nlohmann::json config_json() const;
  Tensor compute_loss(const Tensor& pred, const Tensor& target, const Tensor& sample_weight) const;

  nlohmann::json layer_specs_;
  nlohmann::json extra_ = nlohmann::json::object();
  std::shared_ptr<LRSchedule> schedule_;
  std::vector<std::unique_ptr<metrics::Metric>> metrics_;
  std::string nan_message_;
  History history_;
  // Callbacks of the running fit() (their states go into checkpoints), and callback states read
  // by load_checkpoint() waiting for the next fit().
  std::vector<CallbackPtr> active_callbacks_;
  nlohmann::json pending_callback_state_;
  NamedTensors pending_callback_tensors_;

 private:
  std::shared_ptr<nn::Module> network_;
  Shape input_shape_;
  CompileOptions compile_options_;
  std::shared_ptr<Optimizer> optimizer_;
  bool stop_training_ = false;
};

}  // namespace forge::train
