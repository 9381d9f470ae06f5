// scikit-learn parity for train/metrics (tools/golden/families/metrics.py): the metric
// functions, and the streaming metrics fed the same data in uneven batches.
#include "golden/golden.h"
#include "train/metrics.h"

namespace forge {
namespace {

using metrics::Average;

Tensor value(double v) { return scalar(v, DType::kF64); }

// Feeds rows [0, n) to a fresh streaming metric in batches of 7, 1, 7, 1, ...
double streamed(const std::string& name, const Tensor& pred, const Tensor& target) {
  auto metric = metrics::make_metric(name);
  const int64_t n = pred.size(0);
  for (int64_t start = 0, step = 7; start < n; start += step, step = step == 7 ? 1 : 7) {
    const int64_t end = std::min(n, start + step);
    metric->update(pred.slice(0, start, end), target.slice(0, start, end));
  }
  return metric->result();
}

void check_classification(const std::string& case_name, bool binary) {
  const auto& c = golden::get("metrics", case_name);
  const Tensor pred = c.get("pred");
  const Tensor target = c.get("target");
  const int64_t classes = c.get("confusion").size(0);
  EXPECT_TRUE(c.expect("accuracy", value(metrics::accuracy(pred, target))));
  EXPECT_TRUE(c.expect("confusion", metrics::confusion_matrix(pred, target, classes)));
  EXPECT_TRUE(c.expect("precision_per_class", metrics::precision_per_class(pred, target, classes)));
  EXPECT_TRUE(c.expect("recall_per_class", metrics::recall_per_class(pred, target, classes)));
  EXPECT_TRUE(c.expect("f1_per_class", metrics::f1_per_class(pred, target, classes)));
  for (Average average : {Average::kMacro, Average::kMicro}) {
    // fmt instead of "_" + string: GCC 12 -Wrestrict false positive on literal + std::string.
    const std::string suffix = fmt::format("_{}", metrics::average_name(average));
    EXPECT_TRUE(c.expect("precision" + suffix, value(metrics::precision(pred, target, average))));
    EXPECT_TRUE(c.expect("recall" + suffix, value(metrics::recall(pred, target, average))));
    EXPECT_TRUE(c.expect("f1" + suffix, value(metrics::f1(pred, target, average))));
    EXPECT_TRUE(c.expect("f1" + suffix, value(streamed("f1" + suffix, pred, target))));
    EXPECT_TRUE(c.expect("recall" + suffix, value(streamed("recall" + suffix, pred, target))));
    const Tensor confusion = c.get("confusion");
    EXPECT_TRUE(c.expect("precision" + suffix, value(metrics::precision_from_confusion(confusion, average))));
  }
  EXPECT_TRUE(c.expect("accuracy", value(streamed("accuracy", pred, target))));
  if (binary) {
    EXPECT_TRUE(c.expect("precision_binary", value(metrics::precision(pred, target))));
    EXPECT_TRUE(c.expect("recall_binary", value(metrics::recall(pred, target))));
    EXPECT_TRUE(c.expect("f1_binary", value(metrics::f1(pred, target))));
    // Plain names pick the binary average for two classes.
    EXPECT_TRUE(c.expect("precision_binary", value(streamed("precision", pred, target))));
    EXPECT_TRUE(c.expect("f1_binary", value(streamed("f1", pred, target))));
    EXPECT_TRUE(c.expect("roc_auc", value(metrics::roc_auc(pred, target))));
    EXPECT_TRUE(c.expect("roc_auc", value(streamed("auc", pred, target))));
  } else {
    // ...and macro beyond two classes.
    EXPECT_TRUE(c.expect("f1_macro", value(streamed("f1", pred, target))));
  }
}

TEST(GoldenMetrics, Multiclass) {
  check_classification("multiclass", false);
  const auto& c = golden::get("metrics", "multiclass");
  for (int k : {1, 2, 3}) {
    const std::string role = fmt::format("top_{}_accuracy", k);
    EXPECT_TRUE(c.expect(role, value(metrics::top_k_accuracy(c.get("pred"), c.get("target"), k))));
    EXPECT_TRUE(c.expect(role, value(streamed(role, c.get("pred"), c.get("target")))));
  }
}

TEST(GoldenMetrics, MacroSkipsClassesThatNeverOccur) { check_classification("multiclass_absent", false); }

TEST(GoldenMetrics, Binary) { check_classification("binary", true); }

TEST(GoldenMetrics, BinaryTiedScoresAndFloatTargets) { check_classification("binary_ties", true); }

TEST(GoldenMetrics, BinaryZeroDivision) { check_classification("binary_no_positive_predictions", true); }

TEST(GoldenMetrics, Regression) {
  for (const char* name : {"regression", "regression_multi"}) {
    const auto& c = golden::get("metrics", name);
    const Tensor pred = c.get("pred");
    const Tensor target = c.get("target");
    EXPECT_TRUE(c.expect("mse", value(metrics::mse(pred, target))));
    EXPECT_TRUE(c.expect("mae", value(metrics::mae(pred, target))));
    EXPECT_TRUE(c.expect("rmse", value(metrics::rmse(pred, target))));
    EXPECT_TRUE(c.expect("r2", value(metrics::r2(pred, target))));
    for (const char* metric : {"mse", "mae", "rmse", "r2"}) {
      EXPECT_TRUE(c.expect(metric, value(streamed(metric, pred, target)))) << metric;
    }
  }
}

}  // namespace
}  // namespace forge
