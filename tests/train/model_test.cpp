#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"
#include "train/compile.h"
#include "train_fixtures.h"

namespace forge::train {
namespace {

using nlohmann::json;
using test::blobs;
using test::compiled_mlp;
using test::quiet;
namespace fs = std::filesystem;

TEST(Model, MlpLearnsSeparableBlobs) {
  Model m = compiled_mlp();
  History h = m.fit(blobs(300), quiet(15));
  ASSERT_EQ(h.epochs.size(), 15u);
  EXPECT_LT(h.epochs.back().at("loss"), h.epochs.front().at("loss"));
  EXPECT_GT(h.epochs.back().at("accuracy"), 0.95);
  EXPECT_EQ(h.column("lr").back(), 0.01);
  auto scores = m.evaluate(blobs(200, 99));
  EXPECT_GT(scores.at("accuracy"), 0.95);
  EXPECT_LT(scores.at("loss"), 0.3);
  Tensor p = m.predict(blobs(10, 5)->x());
  EXPECT_EQ(p.shape(), (Shape{10, 3}));
  EXPECT_FALSE(p.requires_grad());
  EXPECT_TRUE(m.network().is_training());  // predict restores the mode
}

TEST(Model, ValidationSplitAndData) {
  Model m = compiled_mlp();
  FitOptions o = quiet(2);
  o.validation_split = 0.25;
  History h = m.fit(blobs(100), o);
  ASSERT_TRUE(h.epochs[0].count("val_loss"));
  ASSERT_TRUE(h.epochs[0].count("val_accuracy"));
  // The validation split is the last 25 samples: the same as passing them explicitly.
  auto data = blobs(100);
  Model a = compiled_mlp(), b = compiled_mlp();
  a.fit(data, o);
  FitOptions o2 = quiet(2);
  std::vector<int64_t> head(75), tail(25);
  for (int i = 0; i < 75; ++i) head[static_cast<size_t>(i)] = i;
  for (int i = 0; i < 25; ++i) tail[static_cast<size_t>(i)] = 75 + i;
  o2.validation_data = std::make_shared<Subset>(data, tail);
  History hb = b.fit(std::make_shared<Subset>(data, head), o2);
  EXPECT_TRUE(test::same_weights(a, b));
  EXPECT_EQ(hb.epochs[1].at("val_loss"), a.history().epochs[1].at("val_loss"));
}

TEST(Model, PredictBatchesAgree) {
  Model m = compiled_mlp();
  Tensor x = blobs(50)->x();
  EXPECT_TRUE(test::all_close(m.predict(x, 7), m.predict(x, 256)));
  EXPECT_THROW_MSG(m.predict(from_vector(std::vector<float>(8, 0.f), {2, 2, 2})), "[predict] input must be [N, 4]");
}

TEST(Model, CompileErrors) {
  manual_seed(1);
  Model m = Model::from_config(test::mlp_layers(), {4});
  EXPECT_THROW_MSG(m.fit(blobs(10), quiet(1)), "not compiled");
  EXPECT_THROW_MSG(m.optimizer(), "not compiled");
  EXPECT_THROW_MSG(m.compile(test::compile_opts({{"name", "adam"}}, "cross_entropy")),
                   "unknown loss 'cross_entropy'; valid losses: mse, mae, huber, binary_crossentropy");
  EXPECT_THROW_MSG(m.compile(test::compile_opts({{"name", "adamax"}})),
                   "unknown optimizer 'adamax'; valid optimizers: sgd");
  EXPECT_THROW_MSG(m.compile(test::compile_opts({{"name", "sgd"}, {"betas", 1}})),
                   "[optimizer] sgd: unknown option 'betas'; valid options: name, lr, learning_rate, momentum");
  EXPECT_THROW_MSG(m.compile(test::compile_opts({{"name", "adam"}, {"lr", "big"}})), "option 'lr' must be a number");
  EXPECT_THROW_MSG(m.compile(test::compile_opts({{"name", "adam"}}, "mse", {"acc"})), "acc");
  EXPECT_THROW_MSG(m.compile([] {
    auto o = test::compile_opts();
    o.schedule = {{"name", "cosine"}};
    return o;
  }()),
                   "missing required option 'total_steps'");
  EXPECT_THROW_MSG(m.compile([] {
    auto o = test::compile_opts();
    o.precision = "bf16";
    return o;
  }()),
                   "'bf16' is not supported yet");
  EXPECT_FALSE(m.compiled());
  for (const char* opt : {"sgd", "adam", "adamw", "rmsprop", "adagrad"}) m.compile(test::compile_opts({{"name", opt}}));
  EXPECT_EQ(std::string(m.optimizer().name()), "Adagrad");
}

TEST(Model, ShapeErrorsNameTheLayer) {
  json layers = json::parse(R"([{"type": "Conv2D", "filters": 4, "kernel_size": 3},
                                {"type": "Conv2D", "filters": 4, "kernel_size": 5}])");
  EXPECT_THROW_MSG(Model::from_config(layers, {1, 6, 6}),
                   "[model] layer 1 (Conv2D) does not fit its input shape (None, 4, 4, 4)");
  EXPECT_THROW_MSG(Model::from_config(json::parse(R"([{"type": "Dense", "units": 3}, {"type": "Dense"}])"), {4}),
                   "layer 1 (Dense): missing required argument 'units'");
}

TEST(Model, SummaryOfSmallCnn) {
  manual_seed(0);
  json layers = json::parse(R"([{"type": "Conv2D", "filters": 8, "kernel_size": 3, "activation": "relu"},
                                {"type": "MaxPooling2D", "pool_size": 2},
                                {"type": "BatchNormalization"},
                                {"type": "Flatten"},
                                {"type": "Dense", "units": 10, "activation": "softmax"}])");
  Model m = Model::from_config(layers, {1, 10, 10});
  const std::string expected =
      "Model: \"sequential\"\n"
      "______________________________________________________________________\n"
      "Layer (type)                                Output Shape       Param #\n"
      "======================================================================\n"
      "conv2d (Conv2D)                             (None, 8, 8, 8)         80\n"
      "______________________________________________________________________\n"
      "max_pooling2d (MaxPooling2D)                (None, 8, 4, 4)          0\n"
      "______________________________________________________________________\n"
      "batch_normalization (BatchNormalization)    (None, 8, 4, 4)         32\n"
      "______________________________________________________________________\n"
      "flatten (Flatten)                           (None, 128)              0\n"
      "______________________________________________________________________\n"
      "dense (Dense)                               (None, 10)           1,290\n"
      "======================================================================\n"
      "Total params: 1,402\n"
      "Trainable params: 1,386\n"
      "Non-trainable params: 16\n";
  EXPECT_EQ(m.summary(), expected);
}

TEST(Model, ClassWeightScalesPerSampleLoss) {
  manual_seed(3);
  json layers = json::parse(R"([{"type": "Dense", "units": 3, "activation": "softmax"}])");
  auto data = blobs(40);
  auto run = [&](std::map<int64_t, double> cw) {
    Model m = Model::from_config(layers, {4});
    m.compile(test::compile_opts({{"name", "sgd"}, {"lr", 0.0}}));
    FitOptions o = quiet(1, 40);
    o.shuffle = false;
    o.class_weight = cw;
    return std::make_pair(m.fit(data, o).epochs[0].at("loss"),
                          per_sample_loss(m.compile_options().loss, m.predict(data->x()), data->y()));
  };
  manual_seed(3);
  auto [plain, losses] = run({});
  manual_seed(3);
  auto [weighted, losses2] = run({{0, 2.0}, {2, 0.0}});
  auto l = losses.to_vector<float>();
  auto y = data->y().to_vector<int64_t>();
  double expect_plain = 0, expect_weighted = 0;
  for (size_t i = 0; i < l.size(); ++i) {
    expect_plain += l[i] / 40.0;
    expect_weighted += (y[i] == 0 ? 2.0 : y[i] == 2 ? 0.0 : 1.0) * l[i] / 40.0;
  }
  EXPECT_NEAR(plain, expect_plain, 1e-5);
  EXPECT_NEAR(weighted, expect_weighted, 1e-5);
  EXPECT_GT(std::abs(weighted - plain), 1e-3);
}

TEST(Model, LossesByName) {
  manual_seed(4);
  for (const auto& loss : loss_names()) {
    const bool sparse = loss.rfind("sparse", 0) == 0;
    const bool binary = loss.rfind("binary", 0) == 0;
    const bool from_logits = loss.find("logits") != std::string::npos;
    const int64_t units = binary ? 1 : 3;
    json layers = {{{"type", "Dense"},
                    {"units", units},
                    {"activation", from_logits || loss == "mse" || loss == "mae" || loss == "huber"
                                       ? "linear"
                                       : (binary ? "sigmoid" : "softmax")}}};
    Model m = Model::from_config(layers, {4});
    m.compile(test::compile_opts({{"name", "adam"}}, loss));
    auto data = blobs(32);
    Tensor y = data->y();
    if (binary) {
      y = gt(y.to(DType::kF32), 0.5).to(DType::kF32);
    } else if (!sparse) {
      y = eq(y.reshape({32, 1}).to(DType::kF32), arange(0, 3).reshape({1, 3})).to(DType::kF32);
    }
    auto ds = std::make_shared<TensorDataset>(data->x(), y);
    History h = m.fit(ds, quiet(2));
    EXPECT_TRUE(std::isfinite(h.epochs.back().at("loss"))) << loss;
    EXPECT_TRUE(std::isfinite(m.evaluate(ds).at("loss"))) << loss;
  }
}

TEST(Model, ClipAndScheduleOptions) {
  Model m = compiled_mlp();
  CompileOptions co = test::compile_opts({{"name", "sgd"}, {"lr", 0.1}, {"momentum", 0.9}},
                                         "sparse_categorical_crossentropy", {"accuracy"});
  co.schedule = {{"name", "step"}, {"step_size", 5}, {"gamma", 0.5}};
  co.clip_norm = 1.0;
  co.clip_value = 0.5;
  m.compile(co);
  History h = m.fit(blobs(40), quiet(2, 4));       // 10 steps per epoch
  EXPECT_DOUBLE_EQ(h.epochs[0].at("lr"), 0.05);    // lr of the last step (step 9)
  EXPECT_DOUBLE_EQ(h.epochs[1].at("lr"), 0.0125);  // step 19
}

TEST(Model, SaveLoadRoundTrip) {
  const std::string dir = test::scratch_dir() + "/model";
  Model m = compiled_mlp();
  m.fit(blobs(100), quiet(2));
  m.extra()["label_names"] = {"a", "b", "c"};
  m.save(dir);
  EXPECT_TRUE(fs::exists(dir + "/model.safetensors"));
  EXPECT_TRUE(fs::exists(dir + "/model.json"));
  EXPECT_FALSE(fs::exists(dir + ".tmp"));
  Model loaded = Model::load(dir);
  Tensor x = blobs(20, 8)->x();
  EXPECT_TRUE(test::bit_equal(m.predict(x), loaded.predict(x)));
  EXPECT_EQ(loaded.extra()["label_names"][2], "c");
  EXPECT_TRUE(loaded.compiled());
  EXPECT_EQ(loaded.compile_options().metrics, std::vector<std::string>{"accuracy"});
  EXPECT_EQ(loaded.input_shape(), (Shape{4}));
  EXPECT_EQ(loaded.summary(), m.summary());
  // Saving over an existing model replaces it.
  m.fit(blobs(100), quiet(1));
  m.save(dir);
  EXPECT_TRUE(test::bit_equal(m.predict(x), Model::load(dir).predict(x)));
}

TEST(Model, LoadErrors) {
  const std::string root = test::scratch_dir();
  EXPECT_THROW_MSG(Model::load(root + "/nope"), "[load_model] " + root + "/nope: no such directory");
  fs::create_directories(root + "/empty");
  EXPECT_THROW_MSG(Model::load(root + "/empty"), "empty/model.json: missing");
  Model m = compiled_mlp();
  m.save(root + "/m");
  { std::ofstream(root + "/m/model.safetensors", std::ios::trunc) << "garbage"; }
  EXPECT_THROW_MSG(Model::load(root + "/m"), "m/model.safetensors: corrupt weights file");
  fs::remove(root + "/m/model.safetensors");
  EXPECT_THROW_MSG(Model::load(root + "/m"), "m/model.safetensors: missing");
  m.save(root + "/m");
  { std::ofstream(root + "/m/model.json", std::ios::trunc) << "{\"format\": "; }
  EXPECT_THROW_MSG(Model::load(root + "/m"), "m/model.json: corrupt JSON");
  { std::ofstream(root + "/m/model.json", std::ios::trunc) << "{\"format\": \"other\"}"; }
  EXPECT_THROW_MSG(Model::load(root + "/m"), "not a Forge model file");
  // Weights of another architecture.
  m.save(root + "/m");
  manual_seed(1);
  Model other = Model::from_config(json::parse(R"([{"type": "Dense", "units": 5}])"), {4});
  other.save(root + "/o");
  fs::copy_file(root + "/o/model.safetensors", root + "/m/model.safetensors", fs::copy_options::overwrite_existing);
  EXPECT_THROW_MSG(Model::load(root + "/m"), "weights do not match the architecture in model.json");
  // A model built in C++ without specs saves weights but cannot be rebuilt.
  Model raw(nn::make_sequential(test::mlp_layers()), {4});
  raw.save(root + "/raw");
  EXPECT_THROW_MSG(Model::load(root + "/raw"), "no \"layers\" specs");
}

TEST(Model, ResumeContinuesExactly) {
  const std::string dir = test::scratch_dir() + "/ckpt";
  auto data = blobs(120);
  auto opts = [](int64_t epochs, int64_t initial) {
    FitOptions o = quiet(epochs, 16);
    o.initial_epoch = initial;
    o.validation_split = 0.2;
    return o;
  };
  CompileOptions co =
      test::compile_opts({{"name", "adam"}, {"lr", 0.01}}, "sparse_categorical_crossentropy", {"accuracy"});
  co.schedule = {{"name", "cosine"}, {"total_steps", 30}};
  manual_seed(11);
  Model full = Model::from_config(test::mlp_layers(), {4});
  full.compile(co);
  full.fit(data, opts(4, 0));

  manual_seed(11);
  Model first = Model::from_config(test::mlp_layers(), {4});
  first.compile(co);
  History h1 = first.fit(data, opts(2, 0));
  first.save_checkpoint(dir, 2, h1);

  manual_seed(999);  // different initial weights and dropout streams: everything must come from the checkpoint
  Model resumed = Model::from_config(test::mlp_layers(), {4});
  resumed.compile(co);
  History loaded;
  const int64_t next = resumed.load_checkpoint(dir, &loaded);
  EXPECT_EQ(next, 2);
  ASSERT_EQ(loaded.epochs.size(), 2u);
  EXPECT_EQ(loaded.epochs[1].at("loss"), h1.epochs[1].at("loss"));
  History h2 = resumed.fit(data, opts(4, next));
  EXPECT_EQ(h2.epochs.size(), 2u);
  EXPECT_TRUE(test::same_weights(full, resumed));
  ASSERT_EQ(resumed.history().epochs.size(), 4u);
  EXPECT_EQ(resumed.history().epochs[3].at("loss"), full.history().epochs[3].at("loss"));
  EXPECT_EQ(resumed.optimizer().step_count(), full.optimizer().step_count());
}

TEST(Model, CheckpointSurvivesCrashMidWrite) {
  const std::string dir = test::scratch_dir() + "/ckpt";
  Model m = compiled_mlp();
  m.fit(blobs(60), quiet(1));
  m.save_checkpoint(dir, 1, m.history());
  Tensor x = blobs(10, 3)->x();
  Tensor before = m.predict(x);
  m.fit(blobs(60), quiet(3));
  for (const char* crash_at : {"model.safetensors", "model.json", "optimizer.safetensors"}) {
    Model::set_write_hook([&](const std::string& path) {
      if (path.ends_with(crash_at)) throw std::runtime_error("simulated crash");
    });
    EXPECT_THROW(m.save_checkpoint(dir, 3, m.history()), std::runtime_error);
    Model::set_write_hook(nullptr);
    Model check = compiled_mlp(123);
    EXPECT_EQ(check.load_checkpoint(dir, nullptr), 1) << crash_at;
    EXPECT_TRUE(test::bit_equal(check.predict(x), before)) << crash_at;
  }
  m.save_checkpoint(dir, 3, m.history());  // a later save cleans up and succeeds
  Model check = compiled_mlp(123);
  EXPECT_EQ(check.load_checkpoint(dir, nullptr), 3);
  EXPECT_FALSE(fs::exists(dir + ".tmp"));
  Model uncompiled = Model::from_config(test::mlp_layers(), {4});
  EXPECT_THROW_MSG(uncompiled.load_checkpoint(dir, nullptr), "not compiled");
  EXPECT_THROW_MSG(check.load_checkpoint(dir + "x", nullptr), "no such directory");
  fs::remove(dir + "/optimizer.safetensors");
  EXPECT_THROW_MSG(check.load_checkpoint(dir, nullptr), "optimizer.safetensors: missing");
}

// Poisons a weight at the start of epoch `at` so the loss becomes NaN.
class Poison : public Callback {
 public:
  explicit Poison(int64_t at) : at_(at) {}
  void on_epoch_begin(Model& model, int64_t epoch) override {
    if (epoch != at_) return;
    NoGradGuard g;
    for (const auto& p : model.network().named_parameters()) p.tensor.data<float>()[0] = NAN;
  }

 private:
  int64_t at_;
};

TEST(Model, NanLossStopsAndKeepsLastGoodCheckpoint) {
  const std::string dir = test::scratch_dir() + "/ckpt";
  Model m = compiled_mlp();
  FitOptions o = quiet(5);
  auto nan = std::make_shared<TerminateOnNaN>();
  o.callbacks = {std::make_shared<Poison>(2), nan, std::make_shared<ModelCheckpoint>(dir, "loss")};
  History h = m.fit(blobs(64), o);
  EXPECT_EQ(h.epochs.size(), 2u);
  EXPECT_TRUE(nan->terminated());
  EXPECT_NE(m.nan_message().find("loss is nan at epoch 3/5, step 1/4"), std::string::npos) << m.nan_message();
  Model check = compiled_mlp(5);
  EXPECT_EQ(check.load_checkpoint(dir + "/last", nullptr), 2);
  for (const auto& t : check.network().state())
    for (float v : t.tensor.to(DType::kF32).to_vector<float>()) ASSERT_TRUE(std::isfinite(v)) << t.name;
}

}  // namespace
}  // namespace forge::train

namespace forge::train {
namespace {

TEST(Model, GraphConfigTrainsSavesAndSummarizes) {
  const std::string dir = test::scratch_dir();
  auto specs = nlohmann::json::parse(R"([
    {"type": "Dense", "units": 16, "activation": "relu", "name": "trunk"},
    {"type": "Dense", "units": 16, "activation": "relu", "name": "branch"},
    {"type": "Add", "inputs": ["trunk", "branch"], "name": "residual"},
    {"type": "Concatenate", "inputs": ["residual", "input"], "name": "features"},
    {"type": "Dense", "units": 3, "activation": "softmax", "name": "head"}])");
  manual_seed(4);
  Model m = Model::from_config(specs, {4});
  m.compile(test::compile_opts({{"name", "adam"}, {"lr", 0.01}}, "sparse_categorical_crossentropy", {"accuracy"}));
  History h = m.fit(test::blobs(120), test::quiet(8));
  EXPECT_GT(h.epochs.back().at("accuracy"), 0.9);
  const std::string summary = m.summary();
  EXPECT_NE(summary.find("Connected to"), std::string::npos) << summary;
  EXPECT_NE(summary.find("residual (Add)"), std::string::npos) << summary;
  EXPECT_NE(summary.find("trunk, branch"), std::string::npos) << summary;
  EXPECT_NE(summary.find("(None, 20)"), std::string::npos) << summary;  // 16 + 4 features
  m.save(dir + "/model");
  Model loaded = Model::load(dir + "/model");
  Tensor x = test::blobs(10)->get(0).x.unsqueeze(0);
  EXPECT_TRUE(test::bit_equal(loaded.predict(x), m.predict(x)));
  EXPECT_TRUE(test::same_weights(loaded, m));
}

}  // namespace
}  // namespace forge::train
