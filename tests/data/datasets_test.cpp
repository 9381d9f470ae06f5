#include "data/datasets.h"

#include <filesystem>

#include "test_util.h"

namespace forge {
namespace {

// Loads a built-in data set, or skips when its Debian package is not installed.
#define LOAD_OR_SKIP(var, name)                                                                          \
  const DatasetSource source_##var = dataset_source(name);                                               \
  if (!std::filesystem::exists(source_##var.directory)) {                                                \
    GTEST_SKIP() << name << " needs the Debian package " << source_##var.package << ": apt-get install " \
                 << source_##var.package;                                                                \
  }                                                                                                      \
  const BuiltinDataset var = load_dataset(name)

void expect_classes(const BuiltinDataset& d, int64_t n, int64_t f, size_t classes) {
  EXPECT_EQ(d.x.shape(), (Shape{n, f}));
  EXPECT_EQ(d.x.dtype(), DType::kF32);
  EXPECT_EQ(d.y.shape(), (Shape{n}));
  EXPECT_EQ(d.y.dtype(), DType::kI64);
  EXPECT_EQ(d.feature_names.size(), static_cast<size_t>(f));
  EXPECT_EQ(d.label_names.size(), classes);
  std::vector<int64_t> counts(classes);
  for (int64_t y : d.y.to_vector<int64_t>()) {
    ASSERT_TRUE(y >= 0 && y < static_cast<int64_t>(classes));
    ++counts[static_cast<size_t>(y)];
  }
  for (int64_t c : counts) EXPECT_GT(c, 0);
}

TEST(Datasets, Iris) {
  LOAD_OR_SKIP(d, "iris");
  expect_classes(d, 150, 4, 3);
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(d.feature_names[0], "sepal length (cm)");
  EXPECT_TRUE(test::all_close(d.x.select(0, 0), from_vector({5.1f, 3.5f, 1.4f, 0.2f}, {4})));
}

TEST(Datasets, Wine) {
  LOAD_OR_SKIP(d, "wine");
  expect_classes(d, 178, 13, 3);
  EXPECT_EQ(d.feature_names.back(), "proline");
  EXPECT_EQ(d.x.to_vector<float>()[12], 1065.0f);
}

TEST(Datasets, BreastCancer) {
  LOAD_OR_SKIP(d, "breast-cancer");
  expect_classes(d, 569, 30, 2);
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"malignant", "benign"}));
  EXPECT_EQ(d.feature_names[10], "radius error");
  EXPECT_EQ(d.feature_names[29], "worst fractal dimension");
}

TEST(Datasets, Diabetes) {
  LOAD_OR_SKIP(d, "diabetes");
  EXPECT_FALSE(d.classification);
  EXPECT_EQ(d.x.shape(), (Shape{442, 10}));
  EXPECT_EQ(d.y.shape(), (Shape{442}));
  EXPECT_EQ(d.y.dtype(), DType::kF32);
  EXPECT_EQ(d.y.to_vector<float>()[0], 151.0f);
  EXPECT_EQ(d.feature_names[2], "bmi");
  EXPECT_TRUE(test::all_close(d.x.select(0, 0).slice(0, 0, 3), from_vector({59, 2, 32.1f}, {3})));
}

TEST(Datasets, Digits) {
  LOAD_OR_SKIP(d, "digits");
  expect_classes(d, 1797, 64, 10);
  EXPECT_EQ(d.feature_names[9], "pixel_1_1");
  const auto x = d.x.to_vector<float>();
  EXPECT_EQ(*std::max_element(x.begin(), x.end()), 16.0f);
}

TEST(Datasets, FashionMnist) {
  const DatasetSource source = dataset_source("fashion-mnist");
  if (!std::filesystem::exists(source.directory)) {
    GTEST_SKIP()
        << "fashion-mnist needs the Debian package dataset-fashion-mnist: apt-get install dataset-fashion-mnist";
  }
  const BuiltinDataset d = load_dataset("fashion-mnist");
  expect_classes(d, 60000, 784, 10);
  EXPECT_EQ(d.x_test.shape(), (Shape{10000, 784}));
  EXPECT_EQ(d.y_test.shape(), (Shape{10000}));
  EXPECT_EQ(d.label_names[9], "Ankle boot");
  EXPECT_EQ(d.feature_names[29], "pixel_1_1");
}

TEST(Datasets, UnknownAndMissingPackage) {
  EXPECT_THROW_MSG(
      load_dataset("mnist-fancy"),
      "[datasets] unknown data set 'mnist-fancy' (known: breast-cancer, diabetes, digits, fashion-mnist, iris, wine");
  EXPECT_THROW_MSG(
      load_dataset("breast-cancer", "/nonexistent/dir"),
      "[datasets] breast-cancer needs the Debian package python3-sklearn: apt-get install python3-sklearn");
  EXPECT_THROW_MSG(load_dataset("fashion-mnist", "/nonexistent/dir"),
                   "[datasets] fashion-mnist needs the Debian package dataset-fashion-mnist: "
                   "apt-get install dataset-fashion-mnist");
  EXPECT_THROW_MSG(load_dataset("diabetes", "/nonexistent/dir"),
                   "[datasets] diabetes needs the Debian package python3-sklearn: apt-get install python3-sklearn");
}

}  // namespace
}  // namespace forge
