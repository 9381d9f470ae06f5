// Metric functions. Everything is computed on host copies in double precision: metrics run
// once per batch on small tensors, so clarity wins over kernels here.
#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "train/metrics_detail.h"

namespace forge::metrics {
namespace detail {
namespace {

std::vector<double> host_doubles(const Tensor& t) { return t.detach().to_vector<double>(); }

// Row-wise argmax of a row-major [rows, cols] buffer; the first maximum wins (like torch.argmax).
std::vector<int64_t> argmax_rows(const std::vector<double>& v, int64_t rows, int64_t cols) {
  std::vector<int64_t> ids(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const double* row = v.data() + r * cols;
    int64_t best = 0;
    for (int64_t c = 1; c < cols; ++c) {
      if (row[c] > row[best]) best = c;
    }
    ids[static_cast<size_t>(r)] = best;
  }
  return ids;
}

}  // namespace

ClassIds predicted_ids(const Tensor& pred, double threshold, const char* op) {
  const bool floating = is_floating(pred.dtype());
  FORGE_CHECK(pred.dim() == 1 || pred.dim() == 2,
              "[{}] predictions must be [N, C] scores, [N] binary scores or [N] class ids, got {}", op,
              shape_str(pred));
  ClassIds out;
  if (pred.dim() == 2 && pred.size(1) >= 2) {
    out.ids = argmax_rows(host_doubles(pred), pred.size(0), pred.size(1));
    out.classes = pred.size(1);
  } else if (floating) {  // [N] or [N, 1] binary scores
    FORGE_CHECK(pred.dim() == 1 || pred.size(1) == 1, "[{}] predictions of shape {} have no classes", op,
                shape_str(pred));
    const auto scores = host_doubles(pred);
    out.ids.resize(scores.size());
    for (size_t i = 0; i < scores.size(); ++i) out.ids[i] = scores[i] > threshold ? 1 : 0;
    out.classes = 2;
  } else {
    FORGE_CHECK(pred.dim() == 1 || pred.size(1) == 1,
                "[{}] integer predictions must be [N] class ids, got {}", op, shape_str(pred));
    out.ids = pred.detach().to_vector<int64_t>();
    for (size_t i = 0; i < out.ids.size(); ++i) {
      FORGE_CHECK(out.ids[i] >= 0, "[{}] predicted class ids must be >= 0, got {} at index {}", op, out.ids[i], i);
    }
  }
  FORGE_CHECK(!out.ids.empty(), "[{}] no samples: predictions have shape {}", op, shape_str(pred));
  return out;
}

std::vector<int64_t> target_ids(const Tensor& target, const char* op) {
  FORGE_CHECK(target.dim() == 1 || target.dim() == 2,
              "[{}] targets must be [N] class ids or [N, C] one-hot rows, got {}", op, shape_str(target));
  if (target.dim() == 2 && target.size(1) >= 2) {
    return argmax_rows(host_doubles(target), target.size(0), target.size(1));
  }
  std::vector<int64_t> ids;
  if (is_floating(target.dtype())) {
    const auto v = host_doubles(target);
    ids.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
      FORGE_CHECK(std::isfinite(v[i]) && v[i] == std::floor(v[i]),
                  "[{}] float targets must hold class ids (whole numbers), got {} at index {}", op, v[i], i);
      ids[i] = static_cast<int64_t>(v[i]);
    }
  } else {
    ids = target.detach().to_vector<int64_t>();
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    FORGE_CHECK(ids[i] >= 0, "[{}] target class ids must be >= 0, got {} at index {}", op, ids[i], i);
  }
  return ids;
}

void check_ids(const ClassIds& pred, const std::vector<int64_t>& target, int64_t num_classes, const char* op) {
  FORGE_CHECK(pred.ids.size() == target.size(), "[{}] predictions have {} samples but targets have {}", op,
              pred.ids.size(), target.size());
  if (num_classes < 0) return;
  for (size_t i = 0; i < target.size(); ++i) {
    FORGE_CHECK(target[i] < num_classes, "[{}] target class {} at index {} is out of range for {} classes", op,
                target[i], i, num_classes);
    FORGE_CHECK(pred.ids[i] < num_classes, "[{}] predicted class {} at index {} is out of range for {} classes", op,
                pred.ids[i], i, num_classes);
  }
}

int64_t top_k_hits(const Tensor& pred, const Tensor& target, int64_t k, const char* op) {
  FORGE_CHECK(pred.dim() == 2 && pred.size(1) >= 2, "[{}] predictions must be [N, C] scores, got {}", op,
              shape_str(pred));
  FORGE_CHECK(k >= 1, "[{}] k must be >= 1, got {}", op, k);
  const int64_t rows = pred.size(0), cols = pred.size(1);
  FORGE_CHECK(rows > 0, "[{}] no samples: predictions have shape {}", op, shape_str(pred));
  const std::vector<int64_t> t = target_ids(target, op);
  FORGE_CHECK(static_cast<int64_t>(t.size()) == rows, "[{}] predictions have {} samples but targets have {}", op,
              rows, t.size());
  const std::vector<double> s = host_doubles(pred);
  int64_t hits = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t label = t[static_cast<size_t>(r)];
    FORGE_CHECK(label < cols, "[{}] target class {} at index {} is out of range for {} classes", op, label, r, cols);
    const double* row = s.data() + r * cols;
    // Rank of the target: classes scoring higher, plus equal-scoring classes with lower ids.
    int64_t rank = 0;
    for (int64_t c = 0; c < cols; ++c) rank += (row[c] > row[label] || (row[c] == row[label] && c < label)) ? 1 : 0;
    hits += rank < k ? 1 : 0;
  }
  return hits;
}

std::vector<double> positive_scores(const Tensor& scores, const char* op) {
  FORGE_CHECK(is_floating(scores.dtype()), "[{}] scores must be floating point, got {}", op,
              dtype_name(scores.dtype()));
  const bool ok = scores.dim() == 1 || (scores.dim() == 2 && (scores.size(1) == 1 || scores.size(1) == 2));
  FORGE_CHECK(ok, "[{}] binary scores must be [N], [N, 1] or [N, 2], got {}", op, shape_str(scores));
  std::vector<double> v = host_doubles(scores.dim() == 2 && scores.size(1) == 2 ? scores.select(1, 1) : scores);
  FORGE_CHECK(!v.empty(), "[{}] no samples: scores have shape {}", op, shape_str(scores));
  for (size_t i = 0; i < v.size(); ++i) {
    FORGE_CHECK(!std::isnan(v[i]), "[{}] score at index {} is NaN", op, i);
  }
  return v;
}

std::vector<int64_t> binary_targets(const Tensor& target, int64_t n, const char* op) {
  FORGE_CHECK(target.dim() == 1 || (target.dim() == 2 && target.size(1) == 1),
              "[{}] binary targets must be [N] or [N, 1] with values 0 and 1, got {}", op, shape_str(target));
  std::vector<int64_t> ids = target_ids(target, op);
  FORGE_CHECK(static_cast<int64_t>(ids.size()) == n, "[{}] scores have {} samples but targets have {}", op, n,
              ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    FORGE_CHECK(ids[i] <= 1, "[{}] binary targets must be 0 or 1, got {} at index {}", op, ids[i], i);
  }
  return ids;
}

double auc_of(const std::vector<double>& scores, const std::vector<int64_t>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  // Walk thresholds from high to low; each group of tied scores moves the ROC point once, and
  // the area under that step is a trapezoid (half credit for positive/negative ties).
  double tp = 0, fp = 0, area = 0;
  for (size_t i = 0; i < order.size();) {
    double group_tp = 0, group_fp = 0;
    const double s = scores[order[i]];
    for (; i < order.size() && scores[order[i]] == s; ++i) (labels[order[i]] == 1 ? group_tp : group_fp) += 1;
    area += group_fp * (tp + 0.5 * group_tp);
    tp += group_tp;
    fp += group_fp;
  }
  if (tp == 0 || fp == 0) return std::nan("");
  return area / (tp * fp);
}

Regression regression_inputs(const Tensor& pred, const Tensor& target, const char* op) {
  FORGE_CHECK(is_floating(pred.dtype()), "[{}] predictions must be floating point, got {}", op,
              dtype_name(pred.dtype()));
  const bool same = pred.shape() == target.shape();
  const bool column_vs_flat = pred.numel() == target.numel() && std::max(pred.dim(), target.dim()) <= 2 &&
                              (pred.dim() == 1 || pred.size(1) == 1) && (target.dim() == 1 || target.size(1) == 1);
  FORGE_CHECK((same && pred.dim() >= 1 && pred.dim() <= 2) || column_vs_flat,
              "[{}] predictions {} and targets {} must have the same shape, [N] or [N, D]", op, shape_str(pred),
              shape_str(target));
  Regression r;
  r.rows = pred.size(0);
  r.cols = pred.numel() / std::max<int64_t>(r.rows, 1);
  FORGE_CHECK(r.rows > 0 && r.cols > 0, "[{}] no samples: predictions have shape {}", op, shape_str(pred));
  r.pred = host_doubles(pred);
  r.target = host_doubles(target);
  return r;
}

std::vector<double> per_class(const std::vector<int64_t>& confusion, int64_t classes, Score score) {
  std::vector<double> out(static_cast<size_t>(classes), 0.0);
  for (int64_t c = 0; c < classes; ++c) {
    double predicted = 0, actual = 0;
    for (int64_t k = 0; k < classes; ++k) {
      predicted += static_cast<double>(confusion[k * classes + c]);
      actual += static_cast<double>(confusion[c * classes + k]);
    }
    const double tp = static_cast<double>(confusion[c * classes + c]);
    const double denominator = score == Score::kPrecision ? predicted : score == Score::kRecall ? actual
                                                                                                : predicted + actual;
    // zero_division = 0: a class never predicted (or never present) scores 0.
    out[static_cast<size_t>(c)] = denominator > 0 ? (score == Score::kF1 ? 2 * tp : tp) / denominator : 0.0;
  }
  return out;
}

double averaged(const std::vector<int64_t>& confusion, int64_t classes, Score score, Average average,
                const char* op) {
  // Classes that occur in the targets (row sums) or the predictions (column sums).
  std::vector<bool> present(static_cast<size_t>(classes), false);
  for (int64_t i = 0; i < classes; ++i) {
    for (int64_t j = 0; j < classes; ++j) {
      if (confusion[i * classes + j] != 0) present[static_cast<size_t>(i)] = present[static_cast<size_t>(j)] = true;
    }
  }
  const std::vector<double> values = per_class(confusion, classes, score);
  if (average == Average::kBinary) {
    for (int64_t c = 2; c < classes; ++c) {
      FORGE_CHECK(!present[static_cast<size_t>(c)],
                  "[{}] average=binary needs class ids 0 and 1 only, but class {} occurs; use macro or micro", op, c);
    }
    return classes > 1 ? values[1] : 0.0;
  }
  if (average == Average::kMacro) {
    double total = 0;
    int64_t count = 0;
    for (int64_t c = 0; c < classes; ++c) {
      if (present[static_cast<size_t>(c)]) total += values[static_cast<size_t>(c)], ++count;
    }
    return count > 0 ? total / static_cast<double>(count) : 0.0;
  }
  // Micro: one pooled count. With one label per sample fp = fn = N - tp, so all three equal accuracy.
  double tp = 0, all = 0;
  for (int64_t c = 0; c < classes; ++c) tp += static_cast<double>(confusion[c * classes + c]);
  for (int64_t v : confusion) all += static_cast<double>(v);
  const double fp = all - tp, fn = all - tp;
  const double denominator = score == Score::kPrecision ? tp + fp : score == Score::kRecall ? tp + fn
                                                                                             : 2 * tp + fp + fn;
  return denominator > 0 ? (score == Score::kF1 ? 2 * tp : tp) / denominator : 0.0;
}

}  // namespace detail

namespace {

using detail::Score;

struct Counts {
  std::vector<int64_t> confusion;
  int64_t classes = 0;
};

Counts count(const Tensor& pred, const Tensor& target, int64_t num_classes, const char* op) {
  FORGE_CHECK(num_classes == -1 || num_classes >= 1, "[{}] num_classes must be >= 1 (or -1 to infer), got {}", op,
              num_classes);
  const detail::ClassIds p = detail::predicted_ids(pred, 0.5, op);
  const std::vector<int64_t> t = detail::target_ids(target, op);
  int64_t classes = num_classes;
  if (classes < 0) {
    classes = p.classes > 0 ? p.classes : 2;
    for (int64_t id : p.ids) classes = std::max(classes, id + 1);
    for (int64_t id : t) classes = std::max(classes, id + 1);
  }
  detail::check_ids(p, t, classes, op);
  Counts c{std::vector<int64_t>(static_cast<size_t>(classes * classes), 0), classes};
  for (size_t i = 0; i < t.size(); ++i) ++c.confusion[static_cast<size_t>(t[i] * classes + p.ids[i])];
  return c;
}

Counts from_tensor(const Tensor& confusion, const char* op) {
  FORGE_CHECK(confusion.dim() == 2 && confusion.size(0) == confusion.size(1) && confusion.size(0) > 0,
              "[{}] confusion matrix must be square [C, C], got {}", op, shape_str(confusion));
  Counts c{confusion.detach().to_vector<int64_t>(), confusion.size(0)};
  for (int64_t v : c.confusion) FORGE_CHECK(v >= 0, "[{}] confusion matrix counts must be >= 0, got {}", op, v);
  return c;
}

double scored(const Tensor& pred, const Tensor& target, Score score, Average average, const char* op) {
  const Counts c = count(pred, target, -1, op);
  return detail::averaged(c.confusion, c.classes, score, average, op);
}

Tensor scored_per_class(const Tensor& pred, const Tensor& target, int64_t num_classes, Score score, const char* op) {
  const Counts c = count(pred, target, num_classes, op);
  return from_vector<double>(detail::per_class(c.confusion, c.classes, score), {c.classes});
}

}  // namespace

Average parse_average(const std::string& name) {
  if (name == "binary") return Average::kBinary;
  if (name == "macro") return Average::kMacro;
  if (name == "micro") return Average::kMicro;
  fail("[metrics] unknown average '{}'; valid: binary, macro, micro", name);
}

std::string average_name(Average average) {
  switch (average) {
    case Average::kBinary: return "binary";
    case Average::kMacro: return "macro";
    case Average::kMicro: return "micro";
  }
  return "?";
}

Tensor predicted_classes(const Tensor& pred, double threshold) {
  auto ids = detail::predicted_ids(pred, threshold, "predicted_classes").ids;
  const auto n = static_cast<int64_t>(ids.size());
  return from_vector<int64_t>(ids, {n});
}

Tensor target_classes(const Tensor& target) {
  auto ids = detail::target_ids(target, "target_classes");
  const auto n = static_cast<int64_t>(ids.size());
  return from_vector<int64_t>(ids, {n});
}

double accuracy(const Tensor& pred, const Tensor& target) {
  const detail::ClassIds p = detail::predicted_ids(pred, 0.5, "accuracy");
  const std::vector<int64_t> t = detail::target_ids(target, "accuracy");
  detail::check_ids(p, t, p.classes, "accuracy");
  int64_t correct = 0;
  for (size_t i = 0; i < t.size(); ++i) correct += p.ids[i] == t[i] ? 1 : 0;
  return static_cast<double>(correct) / static_cast<double>(t.size());
}

double top_k_accuracy(const Tensor& pred, const Tensor& target, int64_t k) {
  const int64_t hits = detail::top_k_hits(pred, target, k, "top_k_accuracy");
  return static_cast<double>(hits) / static_cast<double>(pred.size(0));
}

Tensor confusion_matrix(const Tensor& pred, const Tensor& target, int64_t num_classes) {
  const Counts c = count(pred, target, num_classes, "confusion_matrix");
  return from_vector<int64_t>(c.confusion, {c.classes, c.classes});
}

double precision(const Tensor& pred, const Tensor& target, Average average) {
  return scored(pred, target, Score::kPrecision, average, "precision");
}
double recall(const Tensor& pred, const Tensor& target, Average average) {
  return scored(pred, target, Score::kRecall, average, "recall");
}
double f1(const Tensor& pred, const Tensor& target, Average average) {
  return scored(pred, target, Score::kF1, average, "f1");
}

Tensor precision_per_class(const Tensor& pred, const Tensor& target, int64_t num_classes) {
  return scored_per_class(pred, target, num_classes, Score::kPrecision, "precision_per_class");
}
Tensor recall_per_class(const Tensor& pred, const Tensor& target, int64_t num_classes) {
  return scored_per_class(pred, target, num_classes, Score::kRecall, "recall_per_class");
}
Tensor f1_per_class(const Tensor& pred, const Tensor& target, int64_t num_classes) {
  return scored_per_class(pred, target, num_classes, Score::kF1, "f1_per_class");
}

double precision_from_confusion(const Tensor& confusion, Average average) {
  const Counts c = from_tensor(confusion, "precision");
  return detail::averaged(c.confusion, c.classes, Score::kPrecision, average, "precision");
}
double recall_from_confusion(const Tensor& confusion, Average average) {
  const Counts c = from_tensor(confusion, "recall");
  return detail::averaged(c.confusion, c.classes, Score::kRecall, average, "recall");
}
double f1_from_confusion(const Tensor& confusion, Average average) {
  const Counts c = from_tensor(confusion, "f1");
  return detail::averaged(c.confusion, c.classes, Score::kF1, average, "f1");
}

double roc_auc(const Tensor& scores, const Tensor& target) {
  const std::vector<double> s = detail::positive_scores(scores, "roc_auc");
  const std::vector<int64_t> t = detail::binary_targets(target, static_cast<int64_t>(s.size()), "roc_auc");
  const double auc = detail::auc_of(s, t);
  FORGE_CHECK(!std::isnan(auc), "[roc_auc] only one class ({}) occurs in the targets; ROC AUC is undefined", t[0]);
  return auc;
}

namespace {

// Per-column sums over row-major [rows, cols] data, averaged over columns at the end.
double column_average(const detail::Regression& r, const std::function<double(int64_t)>& column_value) {
  double total = 0;
  for (int64_t c = 0; c < r.cols; ++c) total += column_value(c);
  return total / static_cast<double>(r.cols);
}

double column_mean(const detail::Regression& r, int64_t c, const std::function<double(double, double)>& f) {
  double total = 0;
  for (int64_t i = 0; i < r.rows; ++i) {
    const auto k = static_cast<size_t>(i * r.cols + c);
    total += f(r.pred[k], r.target[k]);
  }
  return total / static_cast<double>(r.rows);
}

double squared(double p, double t) { return (p - t) * (p - t); }

}  // namespace

double mse(const Tensor& pred, const Tensor& target) {
  const auto r = detail::regression_inputs(pred, target, "mse");
  return column_average(r, [&](int64_t c) { return column_mean(r, c, squared); });
}

double mae(const Tensor& pred, const Tensor& target) {
  const auto r = detail::regression_inputs(pred, target, "mae");
  return column_average(r, [&](int64_t c) { return column_mean(r, c, [](double p, double t) { return std::fabs(p - t); }); });
}

double rmse(const Tensor& pred, const Tensor& target) {
  // Like scikit-learn (squared=False): the root per output column, then the column average.
  const auto r = detail::regression_inputs(pred, target, "rmse");
  return column_average(r, [&](int64_t c) { return std::sqrt(column_mean(r, c, squared)); });
}

double r2(const Tensor& pred, const Tensor& target) {
  const auto r = detail::regression_inputs(pred, target, "r2");
  if (r.rows < 2) return std::nan("");
  return column_average(r, [&](int64_t c) {
    const double mean = column_mean(r, c, [](double, double t) { return t; });
    const double residual = column_mean(r, c, squared);
    const double spread = column_mean(r, c, [mean](double, double t) { return (t - mean) * (t - mean); });
    return detail::r2_of(residual, spread);
  });
}

}  // namespace forge::metrics
