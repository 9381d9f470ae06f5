#pragma once
// Runs a RunConfig end to end: data -> preprocessing fitted on the train split -> model ->
// fit (with checkpoints, callbacks, NaN guard) -> test metrics -> saved model directory,
// metrics.json, history.csv and PNG plots. The CLI (`forge train/eval/predict/summary/quickstart`)
// only parses arguments and prints what these functions return.
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/dataset.h"
#include "data/fortunes.h"
#include "train/config.h"
#include "train/model.h"

namespace forge::train {

// ---- data (run_data.cpp)

// A data set before preprocessing: features [N, F] float32 as loaded (fashion-mnist in [0, 1]),
// targets int64 [N] class ids or float32 [N] values.
struct RawData {
  Tensor x_train, y_train, x_test, y_test;
  bool classification = true;
  std::vector<std::string> feature_names, label_names;
  nlohmann::json csv_schema;  // CSV input: CsvSchema::to_json(), else null
  std::string description;    // "iris: 120 train / 30 test rows (random 20% test split, seed 0), 4 features"
  // Text data: every text; x_train / x_test then hold int64 row indices [N, 1] into it.
  std::vector<std::string> texts;
};
// Loads the [data] section's data set and its train/test split (seeded).
RawData load_raw_data(const DataConfig& config, uint64_t seed);

// The fitted preprocessing as JSON (saved in model.json "extra"):
// {"normalize": 255, "transform": <fitted scaler JSON or null>, "image_shape": [1,28,28],
//  "num_features": F, "csv_schema": .., "feature_names": [..]}.
nlohmann::json fit_preprocessing(const DataConfig& config, const RawData& raw, const Tensor& x_train_rows);
// Raw features [N, F] -> model input [N, ...] with the fitted preprocessing. Checks F.
Tensor apply_preprocessing(const nlohmann::json& preprocessing, const Tensor& x);

struct PreparedData {
  std::shared_ptr<const TensorDataset> train, validation, test;  // validation null when validation_split = 0
  Shape input_shape;                                             // without the batch axis
  nlohmann::json preprocessing;
  RawData raw;              // tensors of the raw data (x_train etc. as loaded)
  std::string description;  // what was trained and evaluated on
  int64_t num_classes = 0;  // 0 for regression
  std::string loss;         // the loss the targets were shaped for
};
// Loads, splits (validation: a seeded random fraction of the training rows), fits the
// preprocessing on the training rows only and applies it to every split. `loss` ("" = the
// default for the task) decides the target layout: int64 [N] class ids for the sparse
// categorical losses, float32 [N, 1] for regression and binary cross-entropy.
PreparedData prepare_data(const DataConfig& config, uint64_t seed, const std::string& loss);
// True when `loss` takes float targets shaped like the predictions ([N, 1]).
bool loss_needs_2d_targets(const std::string& loss);

// ---- text data (run_text.cpp)

// The labelled texts of a text [data] section (fortunes, text_file or csv + text_column), after
// `classes` / `positive` are applied.
TextClassificationData load_text_classification(const DataConfig& config);
// load_raw_data for text: the test split is the first round(test_split * N) samples of
// shuffled_indices(N, seed) (the permutation split_text_data uses).
RawData load_text_raw_data(const DataConfig& config, uint64_t seed);
// Fits the Keras tokenizer on the texts of `x_train_rows`: {"text": {[data.text] options,
// "tokenizer": Keras to_json string, "vocab_size": V}, "num_features": maxlen, ...}.
nlohmann::json fit_text_preprocessing(const DataConfig& config, const RawData& raw, const Tensor& x_train_rows);
bool is_text_preprocessing(const nlohmann::json& preprocessing);
// The texts that row indices [N, 1] of a text RawData point at.
std::vector<std::string> rows_to_texts(const RawData& raw, const Tensor& rows);
// Raw texts -> padded int64 ids [N, maxlen] with the saved tokenizer.
Tensor texts_to_input(const nlohmann::json& preprocessing, const std::vector<std::string>& texts);

// ---- training (run.cpp)

struct RunOptions {
  std::string out_dir;  // "" = runs/<config name>
  int64_t epochs = 0;   // > 0 overrides [train] epochs
  int threads = 0;      // > 0 overrides [train] threads
  bool resume = false;  // continue from OUT/checkpoint
  int verbose = 1;      // 0 quiet, 1 progress bar, 2 one line per epoch
  bool json = false;    // progress as JSON lines
  // Status lines ("data: ...", "saved ..."); default: none.
  std::function<void(const std::string&)> log;
};

struct RunResult {
  std::string run_dir, model_dir, checkpoint_dir;
  std::string data_description;
  std::map<std::string, double> test_metrics;  // "loss", "accuracy", ...
  Tensor confusion;                            // int64 [C, C] for classifiers, else undefined
  std::vector<std::string> label_names;
  History history;
  int64_t epochs_run = 0;  // epochs trained in this invocation
  double train_seconds = 0, wall_seconds = 0, samples_per_second = 0;
  double peak_rss_mb = 0;
  std::vector<std::string> plots;
  std::string plot_warning;  // "" when plots were drawn
  nlohmann::json metrics;    // what metrics.json holds
};

// The loss used when [train] loss is empty: sparse_categorical_crossentropy for classifiers,
// mse for regression.
std::string default_loss(bool classification);

// Trains, evaluates and saves a run (see the file comment). Throws forge::Error for bad input,
// and "[train] loss is NaN at epoch E, step S; stopped. ..." when the loss diverges (the last
// good checkpoint and any previously saved model are kept).
RunResult run_training(const RunConfig& config, const RunOptions& options);

// Peak resident memory of this process in MiB (getrusage).
double peak_rss_mb();

// ---- using a saved model (run_predict.cpp)

struct EvalResult {
  std::map<std::string, double> metrics;
  Tensor confusion;
  std::vector<std::string> label_names;
  int64_t samples = 0;
  std::string description;
};
// Evaluates a model directory on `data`: "" = the test split of the data it was trained on, a
// built-in data set name (its test split), or a CSV file (all rows; read with the saved schema).
EvalResult evaluate_model_dir(const std::string& model_dir, const std::string& data = "");

struct Prediction {
  std::string source;  // "shirt.png", "rows.csv:3", "5.1,3.5,1.4,0.2"
  int64_t class_id = -1;
  std::string label;                  // class name (classifiers)
  std::vector<double> probabilities;  // per class (classifiers)
  std::vector<std::string> labels;    // the class names, in probabilities' order (classifiers)
  std::vector<double> values;         // model outputs (regression)
};
// Predicts every input: CSV files (one prediction per row), IDX files (per item), PNG/JPEG
// images, text files (one row of numbers per line) or an inline row "5.1,3.5,1.4,0.2".
std::vector<Prediction> predict_inputs(const std::string& model_dir, const std::vector<std::string>& inputs);
nlohmann::json prediction_json(const Prediction& p);

// The Keras-style summary of a model directory or of a config (built on its data's shape).
std::string summarize(const std::string& model_dir_or_config);

}  // namespace forge::train
