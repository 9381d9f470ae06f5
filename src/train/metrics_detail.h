#pragma once
// Internal helpers shared by the metric functions (metrics.cpp) and the streaming
// accumulators (metric_streaming.cpp). Not part of the public API.
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "train/metrics.h"

namespace forge::metrics::detail {

// Class ids from predictions; `classes` is C for [N, C] scores, 2 for binary scores, -1 for ids.
struct ClassIds {
  std::vector<int64_t> ids;
  int64_t classes = -1;
};
ClassIds predicted_ids(const Tensor& pred, double threshold, const char* op);
std::vector<int64_t> target_ids(const Tensor& target, const char* op);
// Checks equal sample counts and ids in [0, num_classes) (num_classes < 0: only >= 0).
void check_ids(const ClassIds& pred, const std::vector<int64_t>& target, int64_t num_classes, const char* op);

// Samples whose target is among the k best scores of pred [N, C] (ties: lower id first).
int64_t top_k_hits(const Tensor& pred, const Tensor& target, int64_t k, const char* op);

// Positive-class scores from [N], [N, 1] or [N, 2] and 0/1 targets.
std::vector<double> positive_scores(const Tensor& scores, const char* op);
std::vector<int64_t> binary_targets(const Tensor& target, int64_t n, const char* op);
// ROC AUC by the trapezoid rule with tied scores grouped; NaN when only one class occurs.
double auc_of(const std::vector<double>& scores, const std::vector<int64_t>& labels);

// Regression inputs as row-major [N, D] doubles.
struct Regression {
  std::vector<double> pred, target;
  int64_t rows = 0, cols = 1;
};
Regression regression_inputs(const Tensor& pred, const Tensor& target, const char* op);
// 1 - residual / spread for one column; a constant column (spread 0) scores 1 if predicted
// exactly, else 0 (scikit-learn's force_finite).
inline double r2_of(double residual, double spread) {
  if (spread != 0) return 1.0 - residual / spread;
  return residual == 0 ? 1.0 : 0.0;
}

// precision / recall / F1 from a row-major C x C count matrix (rows = true, columns = predicted).
enum class Score { kPrecision, kRecall, kF1 };
std::vector<double> per_class(const std::vector<int64_t>& confusion, int64_t classes, Score score);
double averaged(const std::vector<int64_t>& confusion, int64_t classes, Score score, Average average,
                const char* op);

}  // namespace forge::metrics::detail
