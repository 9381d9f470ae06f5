#pragma once
// Preprocessing as composable, fitted transforms. Each one learns its parameters with fit() on
// the TRAINING split only, applies them with transform() to any split, and saves/loads them as
// JSON so they travel with the model. Pipeline chains them; TransformedDataset applies one
// lazily per batch (inside the DataLoader's prefetch thread).
//
//   auto parts = split(data, {0.8, 0.2}, 42);
//   auto prep = std::make_shared<Pipeline>(TransformList{std::make_shared<StandardScaler>()});
//   prep->fit(*parts[0]);                               // statistics of the train split only
//   auto train = std::make_shared<TransformedDataset>(parts[0], prep);
//   auto val = std::make_shared<TransformedDataset>(parts[1], prep);
//   save prep->to_json() next to the weights; transform_from_json() restores it.
//
// Transforms act on feature matrices x: [N, F] (or [N] as one column), any real dtype in,
// float32 out. New kinds of transform (e.g. PII masking) subclass Transform and call
// register_transform() so that transform_from_json() can rebuild them.
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "data/dataset.h"

namespace forge {

class Transform {
 public:
  virtual ~Transform() = default;
  // The JSON "type" tag, also used as the error-message prefix ("standard_scaler").
  virtual std::string type() const = 0;
  virtual bool fitted() const = 0;
  // Learns the parameters from training rows x: [N, F].
  void fit(const Tensor& x);
  // Learns the parameters from the x of a data set: pass the training split only.
  void fit(const Dataset& train);
  // Applies the fitted transform; throws when fit() has not run.
  Tensor transform(const Tensor& x) const;
  Tensor fit_transform(const Tensor& x);
  // {"type": type(), ...fitted parameters}; transform_from_json() reads it back.
  virtual nlohmann::json to_json() const = 0;
  // Output feature names for the given input names (one-hot encoding expands columns).
  virtual std::vector<std::string> feature_names(const std::vector<std::string>& input) const { return input; }

 protected:
  virtual void do_fit(const Tensor& x) = 0;                // x: contiguous float32 [N, F]
  virtual Tensor do_transform(const Tensor& x) const = 0;  // x: contiguous float32 [N, F]
};

using TransformPtr = std::shared_ptr<Transform>;
using TransformList = std::vector<TransformPtr>;

// Rebuilds a fitted transform from its JSON. Throws for an unknown "type".
TransformPtr transform_from_json(const nlohmann::json& json);
// Makes `type` known to transform_from_json() (built-in transforms are registered already).
void register_transform(const std::string& type, std::function<TransformPtr(const nlohmann::json&)> factory);

// (x - mean) / std per column (population std; a constant column gets std 1). NaNs are ignored
// when fitting and stay NaN. `columns` selects columns (empty: all).
class StandardScaler : public Transform {
 public:
  explicit StandardScaler(std::vector<int64_t> columns = {}) : columns_(std::move(columns)) {}
  std::string type() const override { return "standard_scaler"; }
  bool fitted() const override { return !mean_.empty(); }
  nlohmann::json to_json() const override;
  static TransformPtr from_json(const nlohmann::json& json);
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& scale() const { return scale_; }

 protected:
  void do_fit(const Tensor& x) override;
  Tensor do_transform(const Tensor& x) const override;

 private:
  std::vector<int64_t> columns_;
  int64_t num_features_ = 0;
  std::vector<double> mean_, scale_;  // per selected column
};

// Maps each selected column linearly so that its training min/max become [low, high]
// (a constant column maps to low). Values outside the training range go outside [low, high].
class MinMaxScaler : public Transform {
 public:
  explicit MinMaxScaler(double low = 0.0, double high = 1.0, std::vector<int64_t> columns = {});
  std::string type() const override { return "min_max_scaler"; }
  bool fitted() const override { return !min_.empty(); }
  nlohmann::json to_json() const override;
  static TransformPtr from_json(const nlohmann::json& json);

 protected:
  void do_fit(const Tensor& x) override;
  Tensor do_transform(const Tensor& x) const override;

 private:
  double low_, high_;
  std::vector<int64_t> columns_;
  int64_t num_features_ = 0;
  std::vector<double> min_, scale_;
};

// Replaces each selected column of category codes by one 0/1 column per category seen in fit
// (sorted). Other columns keep their order; the expansion sits where the column was. NaN encodes
// as all zeros. An unseen value throws, or encodes as all zeros with ignore_unknown.
class OneHotEncoder : public Transform {
 public:
  explicit OneHotEncoder(std::vector<int64_t> columns, bool ignore_unknown = false);
  std::string type() const override { return "one_hot_encoder"; }
  bool fitted() const override { return num_features_ > 0; }
  nlohmann::json to_json() const override;
  static TransformPtr from_json(const nlohmann::json& json);
  // "color" -> "color=0", "color=1", ... (category values as written by fmt).
  std::vector<std::string> feature_names(const std::vector<std::string>& input) const override;
  const std::vector<std::vector<double>>& categories() const { return categories_; }

 protected:
  void do_fit(const Tensor& x) override;
  Tensor do_transform(const Tensor& x) const override;

 private:
  std::vector<int64_t> columns_;
  bool ignore_unknown_;
  int64_t num_features_ = 0;
  std::vector<std::vector<double>> categories_;  // per selected column, sorted
};

// Maps labels to 0..K-1 in sorted order (numeric order when every label is a number, else
// byte order), remembering the names. Works on strings (CSV targets) and, as a Transform, on
// numeric columns (`columns`, empty: all; numbers are compared by their shortest text form).
class LabelEncoder : public Transform {
 public:
  explicit LabelEncoder(std::vector<int64_t> columns = {}) : columns_(std::move(columns)) {}
  std::string type() const override { return "label_encoder"; }
  bool fitted() const override { return !classes_.empty(); }
  nlohmann::json to_json() const override;
  static TransformPtr from_json(const nlohmann::json& json);

  void fit_labels(const std::vector<std::string>& labels);
  // Index of `label`, or -1 when it was not seen in fit.
  int64_t find(std::string_view label) const;
  // [N] int64 class ids; throws "[label_encoder] unknown label 'x' (known: a, b)".
  Tensor encode(const std::vector<std::string>& labels) const;
  const std::string& decode(int64_t index) const;
  const std::vector<std::string>& classes() const { return classes_; }
  int64_t num_classes() const { return static_cast<int64_t>(classes_.size()); }

  // The sorted distinct labels, ordered as LabelEncoder orders classes.
  static std::vector<std::string> sorted_unique(std::vector<std::string> labels);
  static std::string number_label(double value);  // 3.0 -> "3", 0.5 -> "0.5"

 protected:
  void do_fit(const Tensor& x) override;
  Tensor do_transform(const Tensor& x) const override;

 private:
  std::vector<int64_t> columns_;
  std::vector<std::string> classes_;
};

// Applies transforms in order; fit() fits each on the output of the previous ones.
class Pipeline : public Transform {
 public:
  explicit Pipeline(TransformList steps = {});
  std::string type() const override { return "pipeline"; }
  bool fitted() const override;
  nlohmann::json to_json() const override;
  static TransformPtr from_json(const nlohmann::json& json);
  std::vector<std::string> feature_names(const std::vector<std::string>& input) const override;
  const TransformList& steps() const { return steps_; }

 protected:
  void do_fit(const Tensor& x) override;
  Tensor do_transform(const Tensor& x) const override;

 private:
  TransformList steps_;
};

// Applies a fitted transform to x of every example/batch of `base` when it is read.
class TransformedDataset : public Dataset {
 public:
  TransformedDataset(DatasetPtr base, std::shared_ptr<const Transform> transform);
  int64_t size() const override { return base_->size(); }
  Example get(int64_t index) const override;
  Example get_batch(std::span<const int64_t> indices) const override;

 private:
  DatasetPtr base_;
  std::shared_ptr<const Transform> transform_;
};

}  // namespace forge
