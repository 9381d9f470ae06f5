// Black-box tests of `forge train / eval / predict / summary`: run the built binary (build/forge,
// next to build/tests/) on tiny configs (iris, synthetic data; a few seconds each).
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cli_util.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

using test::CliRun;
using test::run_forge;

// A fresh directory per test, removed at the end.
class CliTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("forge_cli_{}_{}", ::getpid(), ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string read(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  fs::path dir_;
};

const char* kIris = R"(
name = "iris_test"
[data]
name = "iris"
validation_split = 0.2
[model]
layers = [
  { type = "Dense", units = 16, activation = "relu" },
  { type = "Dense", units = 3, activation = "softmax" },
]
[train]
optimizer = "adam"
lr = 0.02
metrics = ["accuracy"]
epochs = EPOCHS
batch_size = 16
threads = 1
)";

std::string iris(int epochs, const std::string& layers = "") {
  std::string text = kIris;
  text.replace(text.find("EPOCHS"), 6, std::to_string(epochs));
  if (!layers.empty()) {
    const size_t a = text.find("layers = [");
    const size_t b = text.find("]\n[train]");
    text.replace(a, b - a + 1, "layers = [ " + layers + " ]");
  }
  return text;
}

TEST_F(CliTrain, TrainEvalPredictSummaryOnIris) {
  const std::string config = write("iris.toml", iris(30));
  const std::string out = path("run");
  CliRun run = run_forge(fmt::format("train {} --out {} --quiet", config, out));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("test: loss"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("confusion matrix (test):"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("Epoch 1/"), std::string::npos) << "--quiet prints no progress\n" << run.output;
  for (const char* f :
       {"model/model.json", "model/model.safetensors", "checkpoint/checkpoint.json", "metrics.json", "history.csv"}) {
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;
  }
  const auto metrics = nlohmann::json::parse(read(out + "/metrics.json"));
  EXPECT_GT(metrics["test"]["accuracy"].get<double>(), 0.85) << metrics.dump();
  EXPECT_EQ(metrics["history"].size(), 30u);
  EXPECT_GT(metrics["peak_rss_mb"].get<double>(), 1.0);
  EXPECT_GT(metrics["samples_per_second"].get<double>(), 0.0);
  EXPECT_EQ(metrics["confusion_matrix"].size(), 3u);
  EXPECT_EQ(metrics["label_names"][0], "setosa");
  EXPECT_EQ(metrics["history"][0].count("val_loss"), 1u);
  const std::string history = read(out + "/history.csv");
  EXPECT_EQ(std::count(history.begin(), history.end(), '\n'), 31) << history;
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    for (const char* f : {"loss.png", "accuracy.png", "confusion_matrix.png"}) {
      EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f << "\n" << run.output;
    }
  }

  run = run_forge(fmt::format("eval {}/model", out));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("accuracy"), std::string::npos) << run.output;
  run = run_forge(fmt::format("eval {}/model --json", out));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto eval = nlohmann::json::parse(run.output);
  EXPECT_DOUBLE_EQ(eval["metrics"]["accuracy"].get<double>(), metrics["test"]["accuracy"].get<double>());
  EXPECT_EQ(eval["samples"], 30);

  // Inline rows, a CSV with the feature names as header, a text file.
  write("rows.csv",
        "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n");
  write("rows.txt", "5.1 3.5 1.4 0.2\n");
  run = run_forge(fmt::format("predict {}/model 5.1,3.5,1.4,0.2 {} {}", out, path("rows.csv"), path("rows.txt")));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("5.1,3.5,1.4,0.2: setosa (class 0"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("rows.csv:3: virginica"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("rows.txt:1: setosa"), std::string::npos) << run.output;
  run = run_forge(fmt::format("predict {}/model 5.1,3.5,1.4,0.2 --json", out));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto pred = nlohmann::json::parse(run.output);
  EXPECT_EQ(pred["label"], "setosa");
  EXPECT_EQ(pred["probabilities"].size(), 3u);

  run = run_forge(fmt::format("summary {}/model", out));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("Dense"), std::string::npos) << run.output;
  run = run_forge(fmt::format("summary {}", config));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("Dense"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("data: iris"), std::string::npos) << run.output;
}

TEST_F(CliTrain, ResumeContinuesFromTheCheckpoint) {
  const std::string config = write("iris.toml", iris(2));
  const std::string out = path("run");
  CliRun run = run_forge(fmt::format("train {} --out {} --quiet", config, out));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  run = run_forge(fmt::format("train {} --out {} --epochs 4 --resume", config, out));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("at epoch 3"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("Epoch 1/4"), std::string::npos) << run.output;
  const auto metrics = nlohmann::json::parse(read(out + "/metrics.json"));
  EXPECT_EQ(metrics["history"].size(), 4u);
  EXPECT_EQ(metrics["epochs_run"], 2);
  run = run_forge(fmt::format("train {} --out {} --resume", config, path("elsewhere")));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("--resume: no checkpoint in"), std::string::npos) << run.output;
}

TEST_F(CliTrain, JsonProgress) {
  const CliRun run = run_forge(fmt::format("train {} --out {} --json", write("iris.toml", iris(2)), path("run")));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  std::istringstream lines(run.output);
  std::string line, last;
  int parsed = 0;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    EXPECT_NO_THROW(nlohmann::json::parse(line)) << line;
    ++parsed;
    last = line;
  }
  EXPECT_GE(parsed, 3);
  EXPECT_TRUE(nlohmann::json::parse(last).contains("test")) << last;
}

// Exactly one "error: ..." line, naming the problem; exit status 1.
void expect_error(const CliRun& run, const std::string& message) {
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find(message), std::string::npos) << run.output;
  std::istringstream lines(run.output);
  std::string line;
  int errors = 0;
  while (std::getline(lines, line)) errors += line.rfind("error: ", 0) == 0 ? 1 : 0;
  EXPECT_EQ(errors, 1) << run.output;
  EXPECT_NE(run.output.rfind("error: "), std::string::npos);
}

TEST_F(CliTrain, BadInputGivesOneClearLine) {
  expect_error(run_forge("train /nonexistent/run.toml"), "error: [config] /nonexistent/run.toml: cannot open");
  std::string text = iris(1);
  text.replace(text.find("epochs ="), 6, "epoch");
  expect_error(run_forge("train " + write("typo.toml", text)), "typo.toml:15: unknown key 'epoch' in [train]");
  expect_error(run_forge("train " + write("nocsv.toml",
                                          "[data]\ncsv = \"missing.csv\"\n[model]\nlayers = [{type = "
                                          "\"Dense\", units = 1}]\n")),
               "[data] CSV file not found:");
  write("d.csv", "a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,1,x\n");
  expect_error(run_forge("train " + write("col.toml",
                                          "[data]\ncsv = \"d.csv\"\ntarget = \"lable\"\n[model]\nlayers = "
                                          "[{type = \"Dense\", units = 2}]\n")),
               "unknown column 'lable' in 'target' (columns: a, b, label)");
  expect_error(run_forge("train " + write("type.toml", iris(1, "{ type = \"Dense3D\", units = 3 }"))), "Dense3D");
  CliRun run = run_forge("train " + write("type2.toml", iris(1, "{ type = \"Dense3D\", units = 3 }")));
  EXPECT_NE(run.output.find("Conv2D"), std::string::npos) << "lists the valid types\n" << run.output;
  run = run_forge("train " + write("arg.toml", iris(1, "{ type = \"Dense\", unitz = 3 }")));
  expect_error(run, "unitz");
  EXPECT_NE(run.output.find("units"), std::string::npos) << "lists the valid arguments\n" << run.output;
  run = run_forge("train " + write("shape.toml", iris(1, "{ type = \"Conv2D\", filters = 4, kernel_size = 3 }")));
  expect_error(run, "layer 0 (Conv2D)");
  EXPECT_NE(run.output.find("input shape (None, 4)"), std::string::npos) << "names the input shape\n" << run.output;
  expect_error(run_forge("train " + write("img.toml",
                                          "[data]\nname = \"iris\"\nimage_shape = [1, 28, 28]\n[model]\n"
                                          "layers = [{type = \"Dense\", units = 3}]\n")),
               "image_shape [1, 28, 28] holds 784 values but the data has 4 features");
  expect_error(run_forge("eval " + path("nothing")), "error: [load_model]");
  expect_error(run_forge("predict " + path("nothing") + " 1,2,3"), "error: [load_model]");
}

TEST_F(CliTrain, PredictErrors) {
  const std::string out = path("run");
  ASSERT_EQ(run_forge(fmt::format("train {} --out {} --quiet", write("iris.toml", iris(1)), out)).exit_code, 0);
  expect_error(run_forge(fmt::format("predict {}/model {}", out, path("missing.png"))), "[predict] input not found");
  expect_error(run_forge(fmt::format("predict {}/model 1,2,3", out)),
               "[predict] the model expects 4 features per example, the input has 3");
  write("bad.txt", "1 2 x 4\n");
  expect_error(run_forge(fmt::format("predict {}/model {}", out, path("bad.txt"))), "bad.txt:1: 'x' is not a number");
}

constexpr const char* kLinear = R"(
name = "linear"
[data]
name = "synthetic-linear"
scale = "none"
samples = 200
validation_split = 0
[model]
layers = [ {{ type = "Dense", units = 1 }} ]
[train]
optimizer = "sgd"
lr = {}
loss = "mse"
metrics = ["mae"]
epochs = {}
batch_size = 20
threads = 1
)";

std::string linear(const std::string& lr, int epochs) { return fmt::format(kLinear, lr, epochs); }

TEST_F(CliTrain, LinearRegressionRecoversTheLine) {
  const std::string out = path("run");
  const CliRun run = run_forge(fmt::format("train {} --out {} --quiet", write("lin.toml", linear("0.05", 30)), out));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto metrics = nlohmann::json::parse(read(out + "/metrics.json"));
  EXPECT_NEAR(metrics["line"]["w"].get<double>(), 2.0, 0.05) << metrics["line"];
  EXPECT_NEAR(metrics["line"]["b"].get<double>(), 1.0, 0.05) << metrics["line"];
  EXPECT_NE(run.output.find("learned line: y = "), std::string::npos) << run.output;
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    EXPECT_TRUE(fs::exists(out + "/fit.png"));
  }
  const CliRun pred = run_forge(fmt::format("predict {}/model 3", out));
  ASSERT_EQ(pred.exit_code, 0) << pred.output;
  const size_t at = pred.output.find("3: ");
  ASSERT_NE(at, std::string::npos) << pred.output;
  EXPECT_NEAR(std::stod(pred.output.substr(at + 3)), 7.0, 0.1) << pred.output;  // 2 * 3 + 1
}

TEST_F(CliTrain, NanLossStopsAndKeepsWhatWasSaved) {
  const std::string out = path("run");
  ASSERT_EQ(run_forge(fmt::format("train {} --out {} --quiet", write("good.toml", linear("0.05", 2)), out)).exit_code,
            0);
  const std::string model_json = read(out + "/model/model.json");
  const std::string checkpoint = read(out + "/checkpoint/checkpoint.json");
  const CliRun run = run_forge(fmt::format("train {} --out {} --quiet", write("bad.toml", linear("1e9", 3)), out));
  expect_error(run, "loss is");
  EXPECT_NE(run.output.find("at epoch 1/3, step"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("was not changed"), std::string::npos) << run.output;
  EXPECT_EQ(read(out + "/model/model.json"), model_json);
  EXPECT_EQ(read(out + "/checkpoint/checkpoint.json"), checkpoint);
}

TEST_F(CliTrain, MissingGnuplotWarnsButSucceeds) {
  const std::string out = path("run");
  const CliRun run =
      run_forge(fmt::format("train {} --out {} --quiet", write("iris.toml", iris(1)), out), "env PATH=/nonexistent");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("warning: gnuplot not found: no plots drawn (install it with: sudo apt-get install "
                            "gnuplot-nox)"),
            std::string::npos)
      << run.output;
  EXPECT_TRUE(fs::exists(out + "/model/model.json"));
  EXPECT_FALSE(fs::exists(out + "/loss.png"));
}

}  // namespace
}  // namespace forge
