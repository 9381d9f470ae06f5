// /v1/predict/{model} with a Forge-trained classifier (iris, trained here in well under a second).
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "serve/server.h"
#include "train/config.h"
#include "train/run.h"

namespace forge::serve {
namespace {

using nlohmann::json;

TEST(ServePredict, IrisRowsGetLabelsAndProbabilities) {
  const auto dir = std::filesystem::temp_directory_path() / ("forge-predict-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const char* config = R"(
name = "iris"
[data]
name = "iris"
scale = "standard"
[model]
layers = [{ type = "Dense", units = 3, activation = "softmax" }]
[train]
lr = 0.1
epochs = 3
batch_size = 16
seed = 1
threads = 1
)";
  train::RunOptions ro;
  ro.out_dir = (dir / "run").string();
  ro.verbose = 0;
  auto result = train::run_training(train::parse_run_config(config, "iris.toml"), ro);

  ServeOptions o;
  o.port = 0;
  Server server(o);
  server.add_predictor("iris", result.model_dir);
  int port = server.bind();
  std::thread t([&] { server.run(); });
  httplib::Client c("127.0.0.1", port);
  auto r = c.Post("/v1/predict/iris", json{{"inputs", {{5.1, 3.5, 1.4, 0.2}, {6.7, 3.0, 5.2, 2.3}}}}.dump(),
                  "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  ASSERT_EQ(j["predictions"].size(), 2u);
  const auto& p = j["predictions"][0];
  EXPECT_EQ(p["input"], "inputs[0]");
  ASSERT_EQ(p["probabilities"].size(), 3u);
  double sum = 0;
  for (const auto& x : p["probabilities"]) sum += x.get<double>();
  EXPECT_NEAR(sum, 1.0, 1e-4);
  EXPECT_TRUE(p["label"].is_string());
  // Errors: wrong feature count (from the predict path) -> 400; not an image -> 400; unknown model -> 404.
  r = c.Post("/v1/predict/iris", json{{"inputs", {{1.0, 2.0}}}}.dump(), "application/json");
  EXPECT_EQ(r->status, 400) << r->body;
  r = c.Post("/v1/predict/iris", json{{"images", {"aGVsbG8="}}}.dump(), "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("neither a PNG nor a JPEG"), std::string::npos);
  r = c.Post("/v1/predict/nope", json{{"inputs", {{1.0}}}}.dump(), "application/json");
  EXPECT_EQ(r->status, 404);
  server.stop();
  t.join();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace forge::serve
