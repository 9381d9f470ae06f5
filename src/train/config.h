#pragma once
// The TOML run configuration read by `forge train` (docs/cli.md has the full schema):
//
//   name = "cnn_fashion"
//   [data]
//   name = "fashion-mnist"          # or csv = "data.csv" with target = "label"
//   image_shape = [1, 28, 28]
//   validation_split = 0.1
//   [model]
//   layers = [ { type = "Conv2D", filters = 32, kernel_size = 3, activation = "relu" }, ... ]
//   [train]
//   optimizer = "adam"
//   lr = 0.001
//   loss = "sparse_categorical_crossentropy"
//   metrics = ["accuracy"]
//   epochs = 10
//   batch_size = 64
//   [callbacks]
//   early_stopping = { patience = 3 }
//
// Every problem is one line naming the file, the line and the key, e.g.
//   "[config] cnn.toml:12: unknown key 'epoch' in [train] (valid: epochs, batch_size, ...)"
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace forge::train {

// [data.text]: Keras Tokenizer + pad_sequences options for text data (fitted on the train split).
struct TextConfig {
  int64_t num_words = 10000;  // 0 = every word
  int64_t maxlen = 100;
  std::string oov_token;  // "" = none (unknown words dropped)
  std::string padding = "pre";
  std::string truncating = "pre";
  bool lower = true;
  std::string filters = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";
  std::string split = " ";
  bool char_level = false;
  nlohmann::json to_json() const;
  static TextConfig from_json(const nlohmann::json& j);
};

struct DataConfig {
  std::string name;                      // built-in data set (builtin_data_names()); exclusive with csv
  std::string csv;                       // CSV file (relative paths are relative to the config file)
  std::string test_csv;                  // optional CSV with the test rows (same columns)
  std::string target;                    // CSV target column ("" = the last column)
  std::string task = "auto";             // "auto" | "classification" | "regression" (CSV target)
  std::vector<std::string> categorical;  // CSV columns forced categorical
  std::vector<std::string> ignore;       // CSV columns left out
  std::string encoding = "onehot";       // categorical columns: "onehot" | "label"
  std::string scale = "standard";        // "standard" | "minmax" | "none" (fitted on the train split)
  double validation_split = 0.1;         // last fraction of the training split
  double test_split = 0.2;               // when the data set has no official test split
  std::vector<int64_t> image_shape;      // reshape the flat features, e.g. [1, 28, 28]
  double normalize = 0;                  // > 0: divide the features by it before scaling (e.g. 255)
  int64_t train_subset = 0;              // > 0: use only the first N training examples
  int64_t test_subset = 0;               // > 0: evaluate on the first N test examples
  int64_t samples = 1000;                // synthetic-linear: number of points
  double noise = 0.1;                    // synthetic-linear: noise std
  // Text classification: name = "fortunes", text_file (lines "label<TAB>text") or csv with
  // text_column (and target as the label column).
  std::string text_file;
  std::string text_column;
  std::vector<std::string> classes;  // keep only these classes, relabelled in this order (2 = binary)
  std::string positive;              // one-vs-rest: 1 for this class, 0 for every other
  TextConfig text;
  bool is_text() const { return name == "fortunes" || !text_file.empty() || !text_column.empty(); }
};

struct TrainConfig {
  nlohmann::json optimizer = {{"name", "adam"}};  // {"name": .., "lr": .., options}
  std::string loss;                               // "" = chosen from the task
  std::vector<std::string> metrics;
  int64_t epochs = 10;
  int64_t batch_size = 32;
  uint64_t seed = 0;
  int threads = 0;  // 0 = the library default
  double clip_norm = 0;
  double clip_value = 0;
  nlohmann::json schedule;  // {"name": "cosine", ...} or null
  std::string precision = "fp32";
  std::map<int64_t, double> class_weight;
};

struct RunConfig {
  std::string path;  // the file it was read from ("" for a string)
  std::string name;
  DataConfig data;
  nlohmann::json layers = nlohmann::json::array();  // Keras-style layer specs
  TrainConfig train;
  nlohmann::json callbacks = nlohmann::json::object();  // as make_callbacks() takes it
  nlohmann::json to_json() const;                       // saved with the model and in metrics.json
};

// Data set names the [data] section accepts (the built-in ones plus fashion-mnist and
// synthetic-linear).
std::vector<std::string> builtin_data_names();

// Reads a config file; throws forge::Error ("[config] FILE:LINE: ...") for any problem.
RunConfig load_run_config(const std::string& path);
// Parses config text; `name` is used in messages and relative paths resolve against `base_dir`.
RunConfig parse_run_config(const std::string& text, const std::string& name, const std::string& base_dir = "");

}  // namespace forge::train
