// The TOML run config: every section parsed, and errors that name file, line and key.
#include "train/config.h"

#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "train/quickstart.h"

namespace forge::train {
namespace {

const char* kGood = R"(
name = "iris_mlp"
[data]
name = "iris"
scale = "minmax"
validation_split = 0.2
test_split = 0.25
[model]
layers = [
  { type = "Dense", units = 16, activation = "relu" },
  { type = "Dense", units = 3, activation = "softmax" },
]
[train]
optimizer = { name = "sgd", momentum = 0.9 }
lr = 0.05
metrics = ["accuracy", "f1_macro"]
epochs = 7
batch_size = 16
seed = 3
threads = 1
clip_norm = 1.5
schedule = { name = "cosine", total_steps = 100 }
class_weight = { 0 = 1.0, 2 = 3 }
[callbacks]
early_stopping = { patience = 2, restore_best_weights = true }
csv_logger = true
)";

TEST(RunConfig, ParsesEverySection) {
  const RunConfig c = parse_run_config(kGood, "good.toml");
  EXPECT_EQ(c.name, "iris_mlp");
  EXPECT_EQ(c.data.name, "iris");
  EXPECT_EQ(c.data.scale, "minmax");
  EXPECT_DOUBLE_EQ(c.data.validation_split, 0.2);
  EXPECT_DOUBLE_EQ(c.data.test_split, 0.25);
  ASSERT_EQ(c.layers.size(), 2u);
  EXPECT_EQ(c.layers[0]["type"], "Dense");
  EXPECT_TRUE(c.layers[0]["units"].is_number_integer());
  EXPECT_EQ(c.layers[1]["units"], 3);
  EXPECT_EQ(c.train.optimizer["name"], "sgd");
  EXPECT_DOUBLE_EQ(c.train.optimizer["momentum"].get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(c.train.optimizer["lr"].get<double>(), 0.05);
  EXPECT_EQ(c.train.metrics, (std::vector<std::string>{"accuracy", "f1_macro"}));
  EXPECT_EQ(c.train.epochs, 7);
  EXPECT_EQ(c.train.batch_size, 16);
  EXPECT_EQ(c.train.seed, 3u);
  EXPECT_EQ(c.train.threads, 1);
  EXPECT_DOUBLE_EQ(c.train.clip_norm, 1.5);
  EXPECT_EQ(c.train.schedule["name"], "cosine");
  EXPECT_DOUBLE_EQ(c.train.class_weight.at(2), 3.0);
  EXPECT_EQ(c.callbacks["early_stopping"]["patience"], 2);
  EXPECT_EQ(c.callbacks["csv_logger"], true);
  EXPECT_EQ(c.to_json()["train"]["epochs"], 7);
}

TEST(RunConfig, Defaults) {
  const RunConfig c = parse_run_config("[data]\ncsv = \"x.csv\"\n[model]\nlayers = [{type = \"Dense\", units = 1}]\n",
                                       "dir/linear.toml", "dir");
  EXPECT_EQ(c.name, "linear");         // from the file name
  EXPECT_EQ(c.data.csv, "dir/x.csv");  // relative to the config
  EXPECT_EQ(c.data.scale, "standard");
  EXPECT_EQ(c.train.optimizer["name"], "adam");
  EXPECT_EQ(c.train.epochs, 10);
  EXPECT_TRUE(c.train.loss.empty());
}

std::string with(const std::string& data, const std::string& train = "") {
  return "name = \"t\"\n[data]\n" + data + "\n[model]\nlayers = [{type = \"Dense\", units = 1}]\n[train]\n" + train +
         "\n";
}

TEST(RunConfig, ErrorsNameFileLineAndKey) {
  EXPECT_THROW_MSG(parse_run_config(with("name = \"iris\"", "epoch = 3"), "cnn.toml"),
                   "[config] cnn.toml:7: unknown key 'epoch' in [train] (valid: optimizer, lr, loss, metrics, epochs, "
                   "batch_size");
  EXPECT_THROW_MSG(parse_run_config(with("name = \"iris\"\nscal = \"none\""), "a.toml"),
                   "[config] a.toml:4: unknown key 'scal' in [data] (valid: name, csv,");
  EXPECT_THROW_MSG(parse_run_config(with("name = \"mnist\""), "a.toml"),
                   "[config] a.toml:3: 'name' in [data] must be one of breast-cancer, diabetes, digits, fashion-mnist, fortunes, "
                   "iris, synthetic-linear, wine, got 'mnist'");
  EXPECT_THROW_MSG(parse_run_config(with("name = \"iris\"", "epochs = \"ten\""), "a.toml"),
                   "[config] a.toml:7: 'epochs' in [train] must be an integer, got a string");
  EXPECT_THROW_MSG(parse_run_config(with("name = \"iris\"", "epochs = 0"), "a.toml"),
                   "[config] a.toml:7: 'epochs' in [train] must be at least 1, got 0");
  EXPECT_THROW_MSG(parse_run_config(with("name = \"iris\"\nscale = \"robust\""), "a.toml"),
                   "'scale' in [data] must be one of standard, minmax, none, got 'robust'");
  EXPECT_THROW_MSG(parse_run_config(with("name = \"iris\"\ncsv = \"a.csv\""), "a.toml"),
                   "[data] needs exactly one of 'name'");
  EXPECT_THROW_MSG(parse_run_config(with("name = \"iris\"\nvalidation_split = 1.5"), "a.toml"),
                   "a.toml:4: 'validation_split' in [data] must be in [0, 1), got 1.5");
  EXPECT_THROW_MSG(parse_run_config("[data]\nname = \"iris\"\n", "a.toml"), "[config] a.toml: missing section [model]");
  EXPECT_THROW_MSG(parse_run_config("[data]\nname = \"iris\"\n[model]\nlayers = [{units = 3}]\n", "a.toml"),
                   "a.toml:4: layer 0 in [model] needs a string 'type'");
  EXPECT_THROW_MSG(parse_run_config("name = [1\n", "broken.toml"), "[config] broken.toml:");
  EXPECT_THROW_MSG(parse_run_config("colour = 1\n", "a.toml"), "a.toml:1: unknown key 'colour' in the top level");
  EXPECT_THROW_MSG(parse_run_config(with("name = \"iris\"") + "[callbacks]\nearly_stop = true\n", "a.toml"),
                   "a.toml:9: unknown key 'early_stop' in [callbacks] (valid: early_stopping,");
  EXPECT_THROW_MSG(load_run_config("/nonexistent/run.toml"),
                   "[config] /nonexistent/run.toml: cannot open the config file");
}

TEST(RunConfig, QuickstartMatchesTheExampleConfig) {
  const std::filesystem::path path = std::filesystem::path(FORGE_TEST_DATA_DIR) / "../examples/cnn_fashion/config.toml";
  std::ifstream in(path);
  ASSERT_TRUE(in.good()) << path;
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, quickstart_config_toml());
  const RunConfig c = quickstart_config();
  EXPECT_EQ(c.data.name, "fashion-mnist");
  EXPECT_EQ(c.layers.size(), 8u);
  EXPECT_EQ(c.data.image_shape, (std::vector<int64_t>{1, 28, 28}));
}

}  // namespace
}  // namespace forge::train
