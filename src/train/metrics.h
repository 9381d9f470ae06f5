#pragma once
// Evaluation metrics: pure functions on tensors plus streaming accumulators for training.
// Definitions follow scikit-learn (zero_division = 0); docs/metrics.md spells them out.
//
// Argument order is (pred, target) everywhere, like Metric::update and the losses
// (scikit-learn's functions take (y_true, y_pred)). Accepted inputs:
//   classification predictions  [N, C] scores, probabilities or logits (C >= 2): argmax
//                               [N] or [N, 1] floats: binary scores, class 1 when > threshold
//                               [N] integers: class ids
//   classification targets      [N] class ids (integers, or integer-valued floats);
//                               [N, 1] the same; [N, C] one-hot / probabilities: argmax
//   regression                  pred and target with the same number of elements; [N] or
//                               [N, D] (D outputs, averaged uniformly like scikit-learn)
// Results are computed in double precision. Empty inputs throw.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace forge::metrics {

// How precision / recall / F1 combine classes.
//   kBinary: the positive class (id 1) only; every class seen must be 0 or 1.
//   kMacro:  unweighted mean over the classes that occur in the targets or the predictions.
//   kMicro:  from the true/false positive counts summed over those classes.
enum class Average { kBinary, kMacro, kMicro };
// "binary" | "macro" | "micro"; throws naming the valid values.
Average parse_average(const std::string& name);
std::string average_name(Average average);

// Predicted class ids, int64 [N], from any accepted prediction layout (see top of file).
Tensor predicted_classes(const Tensor& pred, double threshold = 0.5);
// Target class ids, int64 [N]; float targets must be integer-valued.
Tensor target_classes(const Tensor& target);

// Fraction of samples whose predicted class equals the target.
double accuracy(const Tensor& pred, const Tensor& target);
// Fraction of samples whose target is among the k highest scores of pred [N, C]. Ties rank
// the lower class id first (so top-1 equals accuracy); k >= C gives 1.
double top_k_accuracy(const Tensor& pred, const Tensor& target, int64_t k);

// int64 [C, C]: entry (i, j) counts samples with target i predicted as j. num_classes = -1
// takes C from pred [N, C], else 1 + the largest id seen (at least 2).
Tensor confusion_matrix(const Tensor& pred, const Tensor& target, int64_t num_classes = -1);

// Precision tp / (tp + fp), recall tp / (tp + fn), F1 2tp / (2tp + fp + fn); 0 when the
// denominator is 0. The default average (binary) matches scikit-learn's default.
double precision(const Tensor& pred, const Tensor& target, Average average = Average::kBinary);
double recall(const Tensor& pred, const Tensor& target, Average average = Average::kBinary);
double f1(const Tensor& pred, const Tensor& target, Average average = Average::kBinary);
// Per-class values, float64 [C] (classes that never occur get 0).
Tensor precision_per_class(const Tensor& pred, const Tensor& target, int64_t num_classes = -1);
Tensor recall_per_class(const Tensor& pred, const Tensor& target, int64_t num_classes = -1);
Tensor f1_per_class(const Tensor& pred, const Tensor& target, int64_t num_classes = -1);
// The same from a confusion matrix int64 [C, C] (rows = true, columns = predicted).
double precision_from_confusion(const Tensor& confusion, Average average);
double recall_from_confusion(const Tensor& confusion, Average average);
double f1_from_confusion(const Tensor& confusion, Average average);

// Area under the ROC curve for binary targets {0, 1}. scores: [N], [N, 1], or [N, 2] (column 1
// is the positive class). Tied scores form one ROC point (trapezoid rule), like scikit-learn.
// Throws when the targets hold only one class.
double roc_auc(const Tensor& scores, const Tensor& target);

// Regression: mean squared error, mean absolute error, its root, and the coefficient of
// determination 1 - SS_res / SS_tot (per output column, then averaged). A constant target
// column scores 1 when predicted exactly, else 0; fewer than two samples give NaN.
double mse(const Tensor& pred, const Tensor& target);
double mae(const Tensor& pred, const Tensor& target);
double rmse(const Tensor& pred, const Tensor& target);
double r2(const Tensor& pred, const Tensor& target);

// ---- streaming accumulators (for fit/evaluate): results over everything seen since reset().
class Metric {
 public:
  virtual ~Metric() = default;
  // Adds one batch; inputs as for the functions above.
  virtual void update(const Tensor& pred, const Tensor& target) = 0;
  // The metric over all batches so far; NaN before the first update (and for auc while the
  // targets hold one class only, and for r2 with fewer than two samples).
  virtual double result() const = 0;
  virtual void reset() = 0;
  // The name it was made with ("accuracy", "top_5_accuracy", ...), used as the log column.
  virtual std::string name() const = 0;
};

// "accuracy" | "top_<k>_accuracy" (e.g. "top_5_accuracy") | "precision" | "recall" | "f1" |
// "precision_macro" | "recall_macro" | "f1_macro" | "precision_micro" | "recall_micro" |
// "f1_micro" | "auc" | "mse" | "mae" | "rmse" | "r2". Plain precision/recall/f1 use the binary
// average when at most two classes were seen, else macro. Unknown names throw, listing these.
std::unique_ptr<Metric> make_metric(const std::string& name);
// The names make_metric accepts (top_<k>_accuracy listed as a pattern).
std::vector<std::string> metric_names();

}  // namespace forge::metrics
