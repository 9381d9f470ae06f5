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

 private:
  std::shared_ptr<nn::Module> network_;
  Shape input_shape_;
  CompileOptions compile_options_;
  std::shared_ptr<Optimizer> optimizer_;
  bool stop_training_ = false;
};

}  // namespace forge::train
