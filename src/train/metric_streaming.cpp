// Streaming metrics: each keeps the sufficient statistics of the batches seen so far, so
// result() equals the metric function applied to all those batches concatenated.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include "train/metrics.h"
#include "train/metrics_detail.h"

namespace forge::metrics {
namespace {

using detail::Score;

const double kNaN = std::nan("");

class AccuracyMetric final : public Metric {
 public:
  void update(const Tensor& pred, const Tensor& target) override {
    const detail::ClassIds p = detail::predicted_ids(pred, 0.5, "accuracy");
    const std::vector<int64_t> t = detail::target_ids(target, "accuracy");
    detail::check_ids(p, t, p.classes, "accuracy");
    for (size_t i = 0; i < t.size(); ++i) correct_ += p.ids[i] == t[i] ? 1 : 0;
    total_ += static_cast<int64_t>(t.size());
  }
  double result() const override {
    return total_ == 0 ? kNaN : static_cast<double>(correct_) / static_cast<double>(total_);
  }
  void reset() override { correct_ = total_ = 0; }
  std::string name() const override { return "accuracy"; }

 private:
  int64_t correct_ = 0, total_ = 0;
};

class TopKAccuracyMetric final : public Metric {
 public:
  explicit TopKAccuracyMetric(int64_t k) : k_(k) {}
  void update(const Tensor& pred, const Tensor& target) override {
    hits_ += detail::top_k_hits(pred, target, k_, "top_k_accuracy");
    total_ += pred.size(0);
  }
  double result() const override {
    return total_ == 0 ? kNaN : static_cast<double>(hits_) / static_cast<double>(total_);
  }
  void reset() override { hits_ = total_ = 0; }
  std::string name() const override { return fmt::format("top_{}_accuracy", k_); }

 private:
  int64_t k_;
  int64_t hits_ = 0, total_ = 0;
};

// precision / recall / F1 from a confusion matrix that grows with the class ids seen.
class ConfusionMetric final : public Metric {
 public:
  // average = nullopt: binary while at most two classes are known, macro beyond.
  ConfusionMetric(std::string name, Score score, std::optional<Average> average)
      : name_(std::move(name)), score_(score), average_(average) {}

  void update(const Tensor& pred, const Tensor& target) override {
    const char* op = name_.c_str();
    const detail::ClassIds p = detail::predicted_ids(pred, 0.5, op);
    const std::vector<int64_t> t = detail::target_ids(target, op);
    detail::check_ids(p, t, p.classes, op);
    int64_t needed = std::max<int64_t>({classes_, p.classes, 2});
    for (size_t i = 0; i < t.size(); ++i) needed = std::max({needed, t[i] + 1, p.ids[i] + 1});
    grow(needed);
    for (size_t i = 0; i < t.size(); ++i) ++confusion_[static_cast<size_t>(t[i] * classes_ + p.ids[i])];
    total_ += static_cast<int64_t>(t.size());
  }
  double result() const override {
    if (total_ == 0) return kNaN;
    const Average average = average_.value_or(classes_ <= 2 ? Average::kBinary : Average::kMacro);
    return detail::averaged(confusion_, classes_, score_, average, name_.c_str());
  }
  void reset() override {
    confusion_.clear();
    classes_ = 0;
    total_ = 0;
  }
  std::string name() const override { return name_; }

 private:
  void grow(int64_t classes) {
    if (classes == classes_) return;
    std::vector<int64_t> bigger(static_cast<size_t>(classes * classes), 0);
    for (int64_t i = 0; i < classes_; ++i) {
      for (int64_t j = 0; j < classes_; ++j) bigger[i * classes + j] = confusion_[i * classes_ + j];
    }
    confusion_ = std::move(bigger);
    classes_ = classes;
  }

  std::string name_;
  Score score_;
  std::optional<Average> average_;
  std::vector<int64_t> confusion_;
  int64_t classes_ = 0, total_ = 0;
};

// Exact ROC AUC needs the full ranking, so this keeps every score and label.
class AucMetric final : public Metric {
 public:
  void update(const Tensor& pred, const Tensor& target) override {
    const std::vector<double> s = detail::positive_scores(pred, "auc");
    const std::vector<int64_t> t = detail::binary_targets(target, static_cast<int64_t>(s.size()), "auc");
    scores_.insert(scores_.end(), s.begin(), s.end());
    labels_.insert(labels_.end(), t.begin(), t.end());
  }
  double result() const override { return scores_.empty() ? kNaN : detail::auc_of(scores_, labels_); }
  void reset() override {
    scores_.clear();
    labels_.clear();
  }
  std::string name() const override { return "auc"; }

 private:
  std::vector<double> scores_;
  std::vector<int64_t> labels_;
};

enum class RegressionKind { kMse, kMae, kRmse, kR2 };

// Per output column: squared and absolute error sums, and the target's running mean and
// sum of squared deviations (merged batch by batch with Chan et al.'s formula, stable for r2).
class RegressionMetric final : public Metric {
 public:
  RegressionMetric(std::string name, RegressionKind kind) : name_(std::move(name)), kind_(kind) {}

  void update(const Tensor& pred, const Tensor& target) override {
    const auto r = detail::regression_inputs(pred, target, name_.c_str());
    if (rows_ == 0) {
      columns_.assign(static_cast<size_t>(r.cols), Column{});
    } else {
      FORGE_CHECK(r.cols == static_cast<int64_t>(columns_.size()),
                  "[{}] batch has {} output columns but earlier batches had {}", name_, r.cols, columns_.size());
    }
    const auto n = static_cast<double>(r.rows);
    for (int64_t c = 0; c < r.cols; ++c) {
      Column& col = columns_[static_cast<size_t>(c)];
      double batch_mean = 0;
      for (int64_t i = 0; i < r.rows; ++i) batch_mean += r.target[static_cast<size_t>(i * r.cols + c)];
      batch_mean /= n;
      double batch_m2 = 0;
      for (int64_t i = 0; i < r.rows; ++i) {
        const auto k = static_cast<size_t>(i * r.cols + c);
        const double e = r.pred[k] - r.target[k];
        col.squared_error += e * e;
        col.absolute_error += std::fabs(e);
        batch_m2 += (r.target[k] - batch_mean) * (r.target[k] - batch_mean);
      }
      const auto seen = static_cast<double>(rows_);
      const double delta = batch_mean - col.mean;
      col.mean += delta * n / (seen + n);
      col.m2 += batch_m2 + delta * delta * seen * n / (seen + n);
    }
    rows_ += r.rows;
  }

  double result() const override {
    if (rows_ == 0 || (kind_ == RegressionKind::kR2 && rows_ < 2)) return kNaN;
    const auto n = static_cast<double>(rows_);
    double total = 0;
    for (const Column& col : columns_) {
      switch (kind_) {
        case RegressionKind::kMse: total += col.squared_error / n; break;
        case RegressionKind::kMae: total += col.absolute_error / n; break;
        case RegressionKind::kRmse: total += std::sqrt(col.squared_error / n); break;
        case RegressionKind::kR2: total += detail::r2_of(col.squared_error, col.m2); break;
      }
    }
    return total / static_cast<double>(columns_.size());
  }
  void reset() override {
    columns_.clear();
    rows_ = 0;
  }
  std::string name() const override { return name_; }

 private:
  struct Column {
    double squared_error = 0, absolute_error = 0, mean = 0, m2 = 0;
  };
  std::string name_;
  RegressionKind kind_;
  std::vector<Column> columns_;
  int64_t rows_ = 0;
};

// "top_<k>_accuracy" -> k, or 0 when the name has another form.
int64_t parse_top_k(const std::string& name) {
  const std::string prefix = "top_", suffix = "_accuracy";
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return 0;
  }
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 9 || !std::all_of(digits.begin(), digits.end(), [](char ch) { return std::isdigit(ch) != 0; })) {
    return 0;
  }
  return std::stoll(digits);
}

}  // namespace

std::vector<std::string> metric_names() {
  return {"accuracy",     "top_<k>_accuracy", "precision",       "recall",       "f1",
          "precision_macro", "recall_macro",  "f1_macro",        "precision_micro", "recall_micro",
          "f1_micro",     "auc",              "mse",             "mae",          "rmse",
          "r2"};
}

std::unique_ptr<Metric> make_metric(const std::string& name) {
  if (name == "accuracy") return std::make_unique<AccuracyMetric>();
  if (const int64_t k = parse_top_k(name); k >= 1) return std::make_unique<TopKAccuracyMetric>(k);
  const std::pair<const char*, Score> scores[] = {
      {"precision", Score::kPrecision}, {"recall", Score::kRecall}, {"f1", Score::kF1}};
  for (const auto& [base, score] : scores) {
    if (name == base) return std::make_unique<ConfusionMetric>(name, score, std::nullopt);
    if (name == std::string(base) + "_macro") return std::make_unique<ConfusionMetric>(name, score, Average::kMacro);
    if (name == std::string(base) + "_micro") return std::make_unique<ConfusionMetric>(name, score, Average::kMicro);
  }
  if (name == "auc") return std::make_unique<AucMetric>();
  if (name == "mse") return std::make_unique<RegressionMetric>(name, RegressionKind::kMse);
  if (name == "mae") return std::make_unique<RegressionMetric>(name, RegressionKind::kMae);
  if (name == "rmse") return std::make_unique<RegressionMetric>(name, RegressionKind::kRmse);
  if (name == "r2") return std::make_unique<RegressionMetric>(name, RegressionKind::kR2);
  fail("[make_metric] unknown metric '{}'; valid: {}", name, fmt::join(metric_names(), ", "));
}

}  // namespace forge::metrics
