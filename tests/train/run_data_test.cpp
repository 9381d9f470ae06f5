// The data half of a run: splits, preprocessing fitted on the training rows only, target
// layouts per loss, and errors for data that does not fit the config.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ops/reduce.h"
#include "test_util.h"
#include "train/run.h"

namespace forge::train {
namespace {

DataConfig iris() {
  DataConfig c;
  c.name = "iris";
  c.validation_split = 0.2;
  c.test_split = 0.2;
  return c;
}

TEST(RunData, SplitsAndScalesOnTheTrainingRowsOnly) {
  const PreparedData d = prepare_data(iris(), 0, "");
  EXPECT_EQ(d.loss, "sparse_categorical_crossentropy");
  EXPECT_EQ(d.train->size() + d.validation->size() + d.test->size(), 150);
  EXPECT_EQ(d.test->size(), 30);
  EXPECT_EQ(d.validation->size(), 24);
  EXPECT_EQ(d.input_shape, (Shape{4}));
  EXPECT_EQ(d.num_classes, 3);
  EXPECT_EQ(d.train->y().dtype(), DType::kI64);
  // Standardized with the statistics of the training rows: their column means are 0, the
  // validation rows' are not.
  const std::vector<float> train_mean = mean(d.train->x(), {0}).to_vector<float>();
  const std::vector<float> val_mean = mean(d.validation->x(), {0}).to_vector<float>();
  for (int j = 0; j < 4; ++j) EXPECT_NEAR(train_mean[j], 0.0, 1e-5);
  double off = 0;
  for (int j = 0; j < 4; ++j) off += std::abs(val_mean[j]);
  EXPECT_GT(off, 1e-3);
  // The same seed gives the same split; apply_preprocessing reproduces the training inputs.
  const PreparedData again = prepare_data(iris(), 0, "");
  EXPECT_EQ(again.test->x().to_vector<float>(), d.test->x().to_vector<float>());
  const Tensor redo = apply_preprocessing(d.preprocessing, d.raw.x_test);
  EXPECT_EQ(redo.to_vector<float>(), d.test->x().to_vector<float>());
}

TEST(RunData, TargetLayoutFollowsTheLoss) {
  DataConfig c = iris();
  c.validation_split = 0;
  EXPECT_EQ(prepare_data(c, 0, "categorical_crossentropy").train->y().shape(), (Shape{120, 3}));
  EXPECT_EQ(prepare_data(c, 0, "mse").train->y().shape(), (Shape{120, 1}));
  c.name = "diabetes";
  const PreparedData d = prepare_data(c, 0, "");
  EXPECT_EQ(d.loss, "mse");
  EXPECT_EQ(d.num_classes, 0);
  EXPECT_EQ(d.train->y().dtype(), DType::kF32);
  EXPECT_THROW_MSG(prepare_data(c, 0, "categorical_crossentropy"), "needs class labels");
}

TEST(RunData, SyntheticLinearAndImageShape) {
  DataConfig c;
  c.name = "synthetic-linear";
  c.samples = 100;
  c.validation_split = 0;
  c.scale = "none";
  const RawData raw = load_raw_data(c, 5);
  EXPECT_EQ(raw.x_train.size(0) + raw.x_test.size(0), 100);
  EXPECT_FALSE(raw.classification);
  // y = 2x + 1 + small noise.
  const auto x = raw.x_train.to_vector<float>();
  const auto y = raw.y_train.to_vector<float>();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], 2 * x[i] + 1, 0.5);
  c.name = "iris";
  c.image_shape = {1, 2, 2};
  EXPECT_EQ(prepare_data(c, 0, "").input_shape, (Shape{1, 2, 2}));
  c.image_shape = {1, 28, 28};
  EXPECT_THROW_MSG(prepare_data(c, 0, ""),
                   "[data] image_shape [1, 28, 28] holds 784 values but the data has 4 features per example");
}

TEST(RunData, CsvColumnsAndErrors) {
  const auto dir = std::filesystem::temp_directory_path() / ("forge_run_data_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "pets.csv").string();
  std::ofstream(path) << "weight,colour,id,kind\n4,red,1,cat\n30,brown,2,dog\n5,black,3,cat\n25,red,4,dog\n"
                         "3,brown,5,cat\n40,black,6,dog\n6,red,7,cat\n35,brown,8,dog\n4,black,9,cat\n28,red,10,dog\n";
  DataConfig c;
  c.csv = path;
  c.target = "kind";
  c.ignore = {"id"};
  c.validation_split = 0;
  const PreparedData d = prepare_data(c, 0, "");
  EXPECT_EQ(d.input_shape, (Shape{4}));  // weight + 3 one-hot colours
  EXPECT_EQ(d.raw.label_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(d.raw.feature_names[1], "colour=black");
  c.target = "species";
  EXPECT_THROW_MSG(prepare_data(c, 0, ""), "unknown column 'species' in 'target' (columns: weight, colour, id, kind)");
  c.target = "kind";
  c.categorical = {"color"};
  EXPECT_THROW_MSG(prepare_data(c, 0, ""), "unknown column 'color' in 'categorical'");
  c.csv = (dir / "none.csv").string();
  EXPECT_THROW_MSG(prepare_data(c, 0, ""), "[data] CSV file not found:");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace forge::train
