// Hand-computed cases for train/metrics: layouts, edge cases and error messages.
#include <cmath>

#include "test_util.h"
#include "train/metrics.h"

namespace forge {
namespace {

using metrics::Average;

Tensor ids(const std::vector<int64_t>& v) { return from_vector<int64_t>(v, {static_cast<int64_t>(v.size())}); }
Tensor floats(const std::vector<float>& v) { return from_vector(v, {static_cast<int64_t>(v.size())}); }

TEST(Metrics, AccuracyFromEveryPredictionLayout) {
  // [N, C] scores: argmax, first maximum wins on ties (row 2 ties 0 and 1 -> class 0).
  const Tensor scores = from_vector({0.1f, 0.7f, 0.2f, 0.9f, 0.05f, 0.05f, 0.4f, 0.4f, 0.2f}, {3, 3});
  EXPECT_DOUBLE_EQ(metrics::accuracy(scores, ids({1, 0, 0})), 1.0);
  EXPECT_DOUBLE_EQ(metrics::accuracy(scores, ids({1, 0, 1})), 2.0 / 3.0);
  // One-hot targets are argmax-ed too.
  const Tensor one_hot = from_vector({0.f, 1.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f, 1.f}, {3, 3});
  EXPECT_DOUBLE_EQ(metrics::accuracy(scores, one_hot), 2.0 / 3.0);
  // Binary scores: class 1 strictly above 0.5; [N, 1] works like [N]; float 0/1 targets.
  const Tensor probs = floats({0.2f, 0.5f, 0.51f, 0.9f});
  EXPECT_DOUBLE_EQ(metrics::accuracy(probs, floats({0, 0, 1, 0})), 0.75);
  EXPECT_DOUBLE_EQ(metrics::accuracy(probs.reshape({4, 1}), ids({0, 1, 1, 1})), 0.75);
  // Class ids.
  EXPECT_DOUBLE_EQ(metrics::accuracy(ids({3, 1, 2, 2}), ids({3, 1, 0, 2})), 0.75);
  EXPECT_EQ(metrics::predicted_classes(probs, 0.3).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1, 1}));
}

TEST(Metrics, TopK) {
  const Tensor scores = from_vector({0.1f, 0.5f, 0.3f, 0.1f,  //
                                     0.4f, 0.3f, 0.2f, 0.1f,  //
                                     0.25f, 0.25f, 0.25f, 0.25f},
                                    {3, 4});
  const Tensor target = ids({2, 3, 1});
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, target, 1), 0.0);
  // Row 3 is all ties: class 1 ranks second (lower ids first).
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, target, 2), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, target, 3), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, target, 4), 1.0);
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, target, 10), 1.0);
  // top-1 equals accuracy even on ties.
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(scores, ids({1, 0, 0}), 1), metrics::accuracy(scores, ids({1, 0, 0})));
}

TEST(Metrics, ConfusionMatrixAndScores) {
  // target: 0 0 1 1 1 2 ; pred: 0 1 1 1 2 0
  const Tensor pred = ids({0, 1, 1, 1, 2, 0});
  const Tensor target = ids({0, 0, 1, 1, 1, 2});
  const Tensor cm = metrics::confusion_matrix(pred, target);
  EXPECT_EQ(cm.dtype(), DType::kI64);
  EXPECT_EQ(cm.shape(), (Shape{3, 3}));
  EXPECT_EQ(cm.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0, 0, 2, 1, 1, 0, 0}));
  EXPECT_EQ(metrics::confusion_matrix(pred, target, 4).shape(), (Shape{4, 4}));
  // precision per class: 1/2, 2/3, 0/1 ; recall: 1/2, 2/3, 0/1 ; f1 the same.
  EXPECT_TRUE(test::all_close(metrics::precision_per_class(pred, target), from_vector<double>({0.5, 2.0 / 3, 0.0}, {3})));
  EXPECT_TRUE(test::all_close(metrics::recall_per_class(pred, target), from_vector<double>({0.5, 2.0 / 3, 0.0}, {3})));
  EXPECT_NEAR(metrics::f1(pred, target, Average::kMacro), (0.5 + 2.0 / 3) / 3, 1e-12);
  // Micro pools counts: equals accuracy for single-label data.
  EXPECT_NEAR(metrics::precision(pred, target, Average::kMicro), 0.5, 1e-12);
  EXPECT_NEAR(metrics::f1(pred, target, Average::kMicro), metrics::accuracy(pred, target), 1e-12);
  EXPECT_NEAR(metrics::f1_from_confusion(cm, Average::kMacro), (0.5 + 2.0 / 3) / 3, 1e-12);
}

TEST(Metrics, BinaryAverageAndZeroDivision) {
  // tp = 2 (idx 0, 3), fp = 1 (idx 1), fn = 1 (idx 2).
  const Tensor pred = floats({0.9f, 0.8f, 0.1f, 0.7f, 0.2f});
  const Tensor target = ids({1, 0, 1, 1, 0});
  EXPECT_NEAR(metrics::precision(pred, target), 2.0 / 3, 1e-12);
  EXPECT_NEAR(metrics::recall(pred, target), 2.0 / 3, 1e-12);
  EXPECT_NEAR(metrics::f1(pred, target), 2.0 / 3, 1e-12);
  // Nothing predicted positive: precision 0/0 -> 0; F1 2*0/(0+0+fn) = 0.
  const Tensor none = floats({0.1f, 0.2f, 0.3f});
  EXPECT_EQ(metrics::precision(none, ids({1, 0, 1})), 0.0);
  EXPECT_EQ(metrics::f1(none, ids({1, 0, 1})), 0.0);
  // No positives at all: recall 0/0 -> 0.
  EXPECT_EQ(metrics::recall(none, ids({0, 0, 0})), 0.0);
  EXPECT_EQ(metrics::recall_per_class(none, ids({0, 0, 0})).to_vector<double>(), (std::vector<double>{1.0, 0.0}));
}

TEST(Metrics, RocAucWithTies) {
  // Positives {0.8, 0.5}, negatives {0.5, 0.2}: pairs (0.8>0.5, 0.8>0.2, 0.5=0.5 -> 1/2, 0.5>0.2) = 3.5/4.
  // (Labels interleaved on purpose: GCC 12.2 with -march=native on AVX-512 miscompiles the int64
  // literal list {1, 1, 0, 0} into {1, 1, 1, 1}; see the branch report.)
  EXPECT_DOUBLE_EQ(metrics::roc_auc(floats({0.8f, 0.5f, 0.5f, 0.2f}), ids({1, 0, 1, 0})), 0.875);
  EXPECT_DOUBLE_EQ(metrics::roc_auc(floats({0.8f, 0.5f, 0.5f, 0.2f}), ids({1, 1, 0, 0})), 0.875);
  // All tied: the diagonal.
  EXPECT_DOUBLE_EQ(metrics::roc_auc(floats({0.3f, 0.3f, 0.3f}), ids({1, 0, 0})), 0.5);
  // Perfect and reversed rankings; [N, 2] uses column 1.
  EXPECT_DOUBLE_EQ(metrics::roc_auc(floats({0.1f, 0.9f}), ids({0, 1})), 1.0);
  EXPECT_DOUBLE_EQ(metrics::roc_auc(floats({0.9f, 0.1f}), ids({0, 1})), 0.0);
  EXPECT_DOUBLE_EQ(metrics::roc_auc(from_vector({0.9f, 0.1f, 0.2f, 0.8f}, {2, 2}), ids({0, 1})), 1.0);
}

TEST(Metrics, Regression) {
  const Tensor pred = floats({1.f, 2.f, 4.f});
  const Tensor target = floats({1.f, 3.f, 2.f});
  EXPECT_DOUBLE_EQ(metrics::mse(pred, target), 5.0 / 3);
  EXPECT_DOUBLE_EQ(metrics::mae(pred, target), 1.0);
  EXPECT_DOUBLE_EQ(metrics::rmse(pred, target), std::sqrt(5.0 / 3));
  // mean 2, SS_tot = 2, SS_res = 5.
  EXPECT_DOUBLE_EQ(metrics::r2(pred, target), 1.0 - 5.0 / 2);
  EXPECT_DOUBLE_EQ(metrics::r2(pred.reshape({3, 1}), target), 1.0 - 5.0 / 2);
  // Constant target: exact -> 1, otherwise 0; one sample -> NaN.
  EXPECT_EQ(metrics::r2(floats({2.f, 2.f}), floats({2.f, 2.f})), 1.0);
  EXPECT_EQ(metrics::r2(floats({2.f, 3.f}), floats({2.f, 2.f})), 0.0);
  EXPECT_TRUE(std::isnan(metrics::r2(floats({2.f}), floats({1.f}))));
  // Two outputs: rmse is the mean of per-column roots (scikit-learn's squared=False).
  const Tensor p2 = from_vector({0.f, 0.f, 0.f, 0.f}, {2, 2});
  const Tensor t2 = from_vector({1.f, 3.f, 1.f, 3.f}, {2, 2});
  EXPECT_DOUBLE_EQ(metrics::mse(p2, t2), 5.0);
  EXPECT_DOUBLE_EQ(metrics::rmse(p2, t2), 2.0);
}

TEST(Metrics, StreamingMatchesWholeAndResets) {
  auto acc = metrics::make_metric("accuracy");
  EXPECT_EQ(acc->name(), "accuracy");
  EXPECT_TRUE(std::isnan(acc->result()));
  acc->update(ids({1, 1}), ids({1, 0}));
  acc->update(ids({2}), ids({2}));
  EXPECT_DOUBLE_EQ(acc->result(), 2.0 / 3);
  acc->reset();
  EXPECT_TRUE(std::isnan(acc->result()));

  // The confusion matrix grows as new class ids show up; plain "f1" switches binary -> macro.
  auto f1 = metrics::make_metric("f1");
  f1->update(ids({0, 1}), ids({0, 1}));
  EXPECT_DOUBLE_EQ(f1->result(), 1.0);
  f1->update(ids({2, 0}), ids({2, 1}));
  EXPECT_NEAR(f1->result(), metrics::f1(ids({0, 1, 2, 0}), ids({0, 1, 2, 1}), Average::kMacro), 1e-12);

  auto auc = metrics::make_metric("auc");
  auc->update(floats({0.8f, 0.5f}), ids({1, 1}));
  EXPECT_TRUE(std::isnan(auc->result()));  // one class so far
  auc->update(floats({0.5f, 0.2f}), ids({0, 0}));
  EXPECT_DOUBLE_EQ(auc->result(), 0.875);

  auto r2 = metrics::make_metric("r2");
  r2->update(floats({1.f}), floats({1.f}));
  EXPECT_TRUE(std::isnan(r2->result()));
  r2->update(floats({2.f, 4.f}), floats({3.f, 2.f}));
  EXPECT_DOUBLE_EQ(r2->result(), 1.0 - 5.0 / 2);

  EXPECT_EQ(metrics::make_metric("top_5_accuracy")->name(), "top_5_accuracy");
  EXPECT_EQ(metrics::make_metric("f1_micro")->name(), "f1_micro");
}

TEST(Metrics, Errors) {
  EXPECT_THROW_MSG(metrics::make_metric("acc"), "unknown metric 'acc'; valid: accuracy, top_<k>_accuracy");
  EXPECT_THROW_MSG(metrics::make_metric("top_0_accuracy"), "unknown metric 'top_0_accuracy'");
  EXPECT_THROW_MSG(metrics::parse_average("weighted"), "unknown average 'weighted'; valid: binary, macro, micro");
  EXPECT_THROW_MSG(metrics::accuracy(ids({1, 0}), ids({1})), "[accuracy] predictions have 2 samples but targets have 1");
  EXPECT_THROW_MSG(metrics::accuracy(zeros({2, 3, 4}), ids({1})), "[accuracy] predictions must be [N, C] scores");
  EXPECT_THROW_MSG(metrics::accuracy(zeros({2, 3}), ids({1, 3})),
                   "[accuracy] target class 3 at index 1 is out of range for 3 classes");
  EXPECT_THROW_MSG(metrics::accuracy(ids({1}), floats({0.5f})), "[accuracy] float targets must hold class ids");
  EXPECT_THROW_MSG(metrics::accuracy(ids({1}), ids({-1})), "[accuracy] target class ids must be >= 0, got -1");
  EXPECT_THROW_MSG(metrics::accuracy(zeros({0}), ids({})), "[accuracy] no samples");
  EXPECT_THROW_MSG(metrics::top_k_accuracy(zeros({2, 3}), ids({0, 1}), 0), "[top_k_accuracy] k must be >= 1, got 0");
  EXPECT_THROW_MSG(metrics::top_k_accuracy(floats({0.5f}), ids({0}), 1), "[top_k_accuracy] predictions must be [N, C]");
  EXPECT_THROW_MSG(metrics::precision(ids({0, 2}), ids({0, 1})),
                   "[precision] average=binary needs class ids 0 and 1 only, but class 2 occurs; use macro or micro");
  EXPECT_THROW_MSG(metrics::confusion_matrix(ids({0, 2}), ids({0, 1}), 2),
                   "[confusion_matrix] predicted class 2 at index 1 is out of range for 2 classes");
  EXPECT_THROW_MSG(metrics::confusion_matrix(ids({0}), ids({0}), 0), "[confusion_matrix] num_classes must be >= 1");
  EXPECT_THROW_MSG(metrics::roc_auc(floats({0.1f, 0.2f}), ids({1, 1})),
                   "[roc_auc] only one class (1) occurs in the targets");
  EXPECT_THROW_MSG(metrics::roc_auc(floats({0.1f, 0.2f}), ids({1, 2})), "[roc_auc] binary targets must be 0 or 1, got 2");
  EXPECT_THROW_MSG(metrics::roc_auc(zeros({2, 3}), ids({1, 0})), "[roc_auc] binary scores must be [N], [N, 1] or [N, 2]");
  EXPECT_THROW_MSG(metrics::roc_auc(floats({NAN, 0.2f}), ids({1, 0})), "[roc_auc] score at index 0 is NaN");
  EXPECT_THROW_MSG(metrics::mse(zeros({3}), zeros({4})), "[mse] predictions (3,) and targets (4,) must have the same shape");
  EXPECT_THROW_MSG(metrics::mse(ids({1}), zeros({1})), "[mse] predictions must be floating point");
  EXPECT_THROW_MSG(metrics::precision_from_confusion(zeros({2, 3}, DType::kI64), Average::kMacro),
                   "[precision] confusion matrix must be square [C, C], got (2,3)");
  auto mse = metrics::make_metric("mse");
  mse->update(zeros({2, 3}), zeros({2, 3}));
  EXPECT_THROW_MSG(mse->update(zeros({2, 2}), zeros({2, 2})), "[mse] batch has 2 output columns but earlier batches had 3");
}

}  // namespace
}  // namespace forge
