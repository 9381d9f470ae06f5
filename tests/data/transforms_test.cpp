#include "data/transforms.h"

#include <cmath>

#include "data/dataloader.h"
#include "test_util.h"

namespace forge {
namespace {

using nlohmann::json;

TensorDataset make_data() {
  // 6 rows, 2 features; y = row number.
  return TensorDataset(from_vector({1, 10, 2, 20, 3, 30, 4, 40, 100, -5, 200, -6}, {6, 2}),
                       arange(0, 6, 1, DType::kI64));
}

TEST(Transforms, StandardScalerFitsOnTrainSplitOnly) {
  auto data = std::make_shared<TensorDataset>(make_data());
  auto train = std::make_shared<Subset>(data, std::vector<int64_t>{0, 1, 2, 3});
  auto test = std::make_shared<Subset>(data, std::vector<int64_t>{4, 5});
  auto scaler = std::make_shared<StandardScaler>();
  scaler->fit(*train);
  // Train statistics: column 0 mean 2.5, std sqrt(1.25); the test rows (100, 200) do not leak in.
  EXPECT_NEAR(scaler->mean()[0], 2.5, 1e-12);
  EXPECT_NEAR(scaler->scale()[0], std::sqrt(1.25), 1e-12);
  EXPECT_NEAR(scaler->mean()[1], 25, 1e-12);
  TransformedDataset scaled_test(test, scaler);
  const Example batch = materialize(scaled_test);
  EXPECT_NEAR(batch.x.to_vector<float>()[0], (100 - 2.5) / std::sqrt(1.25), 1e-4);
  EXPECT_EQ(batch.y.to_vector<int64_t>(), (std::vector<int64_t>{4, 5}));
  // The scaled train split has mean 0 and std 1 per column.
  const Tensor tx = scaler->transform(materialize(*train).x);
  const auto v = tx.to_vector<double>();
  EXPECT_NEAR(v[0] + v[2] + v[4] + v[6], 0.0, 1e-5);
  EXPECT_NEAR(v[0] * v[0] + v[2] * v[2] + v[4] * v[4] + v[6] * v[6], 4.0, 1e-5);
  // Single-example access goes through the same transform.
  EXPECT_TRUE(test::all_close(scaled_test.get(1).x, scaler->transform(from_vector({200, -6}, {1, 2})).select(0, 0)));
}

TEST(Transforms, UnfittedAndShapeErrors) {
  auto scaler = std::make_shared<StandardScaler>();
  EXPECT_THROW_MSG(scaler->transform(zeros({2, 2})),
                   "[standard_scaler] transform() before fit(): fit it on the training split first");
  EXPECT_THROW_MSG(TransformedDataset(std::make_shared<TensorDataset>(make_data()), scaler),
                   "[TransformedDataset] transform 'standard_scaler' is not fitted");
  scaler->fit(zeros({3, 2}));
  EXPECT_THROW_MSG(scaler->transform(zeros({3, 5})),
                   "[standard_scaler] was fitted on 2 features, got x of shape (3,5)");
  EXPECT_THROW_MSG(scaler->transform(zeros({2, 2, 2})),
                   "[standard_scaler] expects x of shape [N, F] or [N], got (2,2,2)");
  EXPECT_THROW_MSG(StandardScaler({5}).fit(zeros({3, 2})),
                   "[standard_scaler] column 5 out of range for x with 2 features");
  EXPECT_THROW_MSG(MinMaxScaler(1, 0), "[min_max_scaler] feature range must have low < high, got [1, 0]");
  // A constant column is left unscaled (scale 1) instead of dividing by zero.
  const Tensor out = StandardScaler().fit_transform(full({3, 1}, 7.0));
  EXPECT_TRUE(test::all_close(out, zeros({3, 1})));
}

TEST(Transforms, MinMaxScalerSelectedColumns) {
  MinMaxScaler mm(-1, 1, {1});
  const Tensor x = from_vector({1, 10, 2, 20, 3, 30}, {3, 2});
  EXPECT_TRUE(test::all_close(mm.fit_transform(x), from_vector({1, -1, 2, 0, 3, 1}, {3, 2})));
  EXPECT_TRUE(test::all_close(mm.transform(from_vector({0, 40}, {1, 2})), from_vector({0, 2}, {1, 2})));
}

TEST(Transforms, OneHotAndLabelEncoders) {
  OneHotEncoder oh({1});
  const Tensor x = from_vector({5, 2, 6, 0, 7, 2}, {3, 2});
  EXPECT_TRUE(test::all_close(oh.fit_transform(x), from_vector({5, 0, 1, 6, 1, 0, 7, 0, 1}, {3, 3})));
  EXPECT_EQ(oh.feature_names({"a", "b"}), (std::vector<std::string>{"a", "b=0", "b=2"}));
  EXPECT_THROW_MSG(oh.transform(from_vector({1, 3}, {1, 2})),
                   "[one_hot_encoder] column 1 row 0 has value 3 not seen in fit (known: 0, 2)");
  OneHotEncoder lenient({1}, true);
  lenient.fit(x);
  EXPECT_TRUE(test::all_close(lenient.transform(from_vector({1, 3}, {1, 2})), from_vector({1, 0, 0}, {1, 3})));

  LabelEncoder le;
  le.fit_labels({"setosa", "virginica", "setosa", "versicolor"});
  EXPECT_EQ(le.classes(), (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(le.encode({"virginica", "setosa"}).to_vector<int64_t>(), (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(le.decode(1), "versicolor");
  EXPECT_THROW_MSG(le.encode({"rose"}), "[label_encoder] unknown label 'rose' (known: setosa, versicolor, virginica)");
  EXPECT_THROW_MSG(le.decode(3), "[label_encoder] class id 3 out of range [0, 3)");
  // Numeric labels sort numerically; as a Transform it maps a column of values to ids.
  LabelEncoder numeric;
  EXPECT_TRUE(
      test::all_close(numeric.fit_transform(from_vector({10, 9, 100, 9}, {4})), from_vector({1, 0, 2, 0}, {4})));
  EXPECT_EQ(numeric.classes(), (std::vector<std::string>{"9", "10", "100"}));
}

TEST(Transforms, PipelineJsonRoundTrip) {
  auto pipeline = std::make_shared<Pipeline>(TransformList{std::make_shared<OneHotEncoder>(std::vector<int64_t>{0}),
                                                           std::make_shared<StandardScaler>(),
                                                           std::make_shared<MinMaxScaler>(0, 2)});
  const Tensor x = from_vector({0, 1.5f, 1, -2, 0, 3, 2, 8}, {4, 2});
  pipeline->fit(x);
  const Tensor expected = pipeline->transform(x);
  EXPECT_EQ(expected.shape(), (Shape{4, 4}));
  EXPECT_EQ(pipeline->feature_names({"kind", "size"}),
            (std::vector<std::string>{"kind=0", "kind=1", "kind=2", "size"}));
  const std::string saved = pipeline->to_json().dump();
  const TransformPtr loaded = transform_from_json(json::parse(saved));
  EXPECT_EQ(loaded->type(), "pipeline");
  EXPECT_TRUE(loaded->fitted());
  EXPECT_TRUE(test::all_close(loaded->transform(x), expected));
  EXPECT_EQ(loaded->to_json().dump(), saved);
  LabelEncoder le;
  le.fit_labels({"b", "a"});
  EXPECT_EQ(std::static_pointer_cast<LabelEncoder>(transform_from_json(le.to_json()))->classes(), le.classes());

  EXPECT_THROW_MSG(transform_from_json(json{{"type", "pii_mask"}}),
                   "[transform_from_json] unknown transform type 'pii_mask' (known: label_encoder, min_max_scaler");
  EXPECT_THROW_MSG(transform_from_json(json{{"type", "standard_scaler"}}),
                   "[transform_from_json] invalid standard_scaler JSON");
  EXPECT_THROW_MSG(transform_from_json(json::array()),
                   "[transform_from_json] expected an object with a \"type\" string");
  json bad = pipeline->steps()[1]->to_json();
  bad["mean"] = {1.0};
  EXPECT_THROW_MSG(transform_from_json(bad), "standard_scaler has 4 columns but 1 means and 4 scales");
}

// A new kind of transform plugs in through register_transform.
class AddOne : public Transform {
 public:
  std::string type() const override { return "add_one"; }
  bool fitted() const override { return true; }
  json to_json() const override { return {{"type", type()}}; }

 protected:
  void do_fit(const Tensor&) override {}
  Tensor do_transform(const Tensor& x) const override { return x + 1.0; }
};

TEST(Transforms, RegisteredCustomTransform) {
  register_transform("add_one", [](const json&) { return std::make_shared<AddOne>(); });
  const TransformPtr p = transform_from_json(Pipeline({std::make_shared<AddOne>()}).to_json());
  EXPECT_TRUE(test::all_close(p->transform(zeros({1, 2})), ones({1, 2})));
}

}  // namespace
}  // namespace forge

namespace forge {
namespace {

TEST(Transforms, TransformedSplitThroughPrefetchingLoader) {
  auto data = std::make_shared<TensorDataset>(from_vector({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, {6, 2}),
                                              arange(0, 6, 1, DType::kI64));
  auto parts = split(data, {0.5, 0.5}, 3);
  auto scaler = std::make_shared<MinMaxScaler>();
  scaler->fit(*parts[0]);
  DataLoader loader(std::make_shared<TransformedDataset>(parts[0], scaler),
                    {.batch_size = 2, .shuffle = true, .prefetch = 1});
  float lo = 1e9f, hi = -1e9f;
  int64_t rows = 0;
  for (const Example& batch : loader.epoch(0)) {
    for (float v : batch.x.to_vector<float>()) lo = std::min(lo, v), hi = std::max(hi, v);
    rows += batch.x.size(0);
  }
  EXPECT_EQ(rows, 3);
  EXPECT_FLOAT_EQ(lo, 0.0f);  // the train split spans exactly [0, 1] after its own min-max fit
  EXPECT_FLOAT_EQ(hi, 1.0f);
}

}  // namespace
}  // namespace forge
