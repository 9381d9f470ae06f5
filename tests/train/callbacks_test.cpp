#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "formats/tensorboard.h"
#include "test_util.h"
#include "train_fixtures.h"

namespace forge::train {
namespace {

using nlohmann::json;
using test::blobs;
using test::compiled_mlp;
using test::quiet;
namespace fs = std::filesystem;

// Clones the weights at the end of epoch `at`.
class Snapshot : public Callback {
 public:
  explicit Snapshot(int64_t at) : at_(at) {}
  void on_epoch_end(Model& model, int64_t epoch, std::map<std::string, double>&) override {
    if (epoch != at_) return;
    for (const auto& t : model.network().state()) state.push_back({t.name, t.tensor.detach().clone()});
  }
  NamedTensors state;

 private:
  int64_t at_;
};

TEST(Callbacks, EarlyStoppingStopsAndRestoresBest) {
  Model m = compiled_mlp();
  // The loss falls every epoch, so with mode "max" only epoch 0 counts as an improvement.
  auto es = std::make_shared<EarlyStopping>("loss", 1, 0, "max", true);
  auto snap = std::make_shared<Snapshot>(0);
  FitOptions o = quiet(10);
  o.callbacks = {snap, es};
  History h = m.fit(blobs(64), o);
  EXPECT_EQ(h.epochs.size(), 3u);
  EXPECT_EQ(es->stopped_epoch(), 2);
  EXPECT_EQ(es->best_epoch(), 0);
  auto now = m.network().state();
  ASSERT_EQ(now.size(), snap->state.size());
  for (size_t i = 0; i < now.size(); ++i) {
    if (now[i].tensor.dtype() != DType::kF32) continue;
    EXPECT_TRUE(test::bit_equal(now[i].tensor, snap->state[i].tensor)) << now[i].name;
  }
  // Without patience exhausted, training runs to the end and nothing is restored.
  auto patient = std::make_shared<EarlyStopping>("val_loss", 100);
  o.callbacks = {patient};
  o.validation_split = 0.2;
  EXPECT_EQ(m.fit(blobs(64), o).epochs.size(), 10u);
  EXPECT_EQ(patient->stopped_epoch(), -1);
  EXPECT_THROW_MSG(EarlyStopping("loss", 1, 0, "up"), "mode must be auto, min or max");
  auto bad = std::make_shared<EarlyStopping>("val_f2");
  o.callbacks = {bad};
  EXPECT_THROW_MSG(m.fit(blobs(64), o), "cannot monitor 'val_f2': not in the logs (available: accuracy, loss, lr");
}

TEST(Callbacks, ModelCheckpointWritesBestAndLast) {
  const std::string dir = test::scratch_dir();
  Model m = compiled_mlp();
  FitOptions o = quiet(3);
  o.validation_split = 0.25;
  o.callbacks = {std::make_shared<ModelCheckpoint>(dir + "/ck", "val_accuracy")};
  m.fit(blobs(80), o);
  Model check = compiled_mlp(1);
  History h;
  EXPECT_EQ(check.load_checkpoint(dir + "/ck/last", &h), 3);
  EXPECT_EQ(h.epochs.size(), 3u);
  EXPECT_TRUE(test::same_weights(check, m));
  const int64_t best = check.load_checkpoint(dir + "/ck/best", &h);
  EXPECT_GE(best, 1);
  EXPECT_EQ(h.epochs.size(), static_cast<size_t>(best));
  EXPECT_TRUE(fs::exists(dir + "/ck/best/model.json"));
  o.callbacks = {std::make_shared<ModelCheckpoint>(dir + "/only", "val_loss", true)};
  m.fit(blobs(80), o);
  EXPECT_TRUE(fs::exists(dir + "/only/best"));
  EXPECT_FALSE(fs::exists(dir + "/only/last"));
}

TEST(Callbacks, ReduceLROnPlateau) {
  Model m = compiled_mlp();
  FitOptions o = quiet(4);
  o.callbacks = {std::make_shared<ReduceLROnPlateau>("loss", 0.5, 0, 0.003, 0, "max")};
  History h = m.fit(blobs(64), o);
  EXPECT_EQ(h.column("lr"), (std::vector<double>{0.01, 0.01, 0.005, 0.003}));
  EXPECT_THROW_MSG(ReduceLROnPlateau("loss", 2.0), "factor must be in (0, 1)");
}

TEST(Callbacks, LearningRateScheduler) {
  Model m = compiled_mlp();
  FitOptions o = quiet(3);
  o.callbacks = {std::make_shared<LearningRateScheduler>(std::make_shared<StepLR>(0.1, 1, 0.5))};
  EXPECT_EQ(m.fit(blobs(32), o).column("lr"), (std::vector<double>{0.1, 0.05, 0.025}));
}

TEST(Callbacks, CsvLogger) {
  const std::string path = test::scratch_dir() + "/history.csv";
  Model m = compiled_mlp();
  FitOptions o = quiet(3);
  o.callbacks = {std::make_shared<CSVLoggerCallback>(path)};
  m.fit(blobs(32), o);
  std::ifstream in(path);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) lines.push_back(line);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "epoch,accuracy,loss,lr");
  EXPECT_EQ(lines[3].substr(0, 2), "2,");
}

TEST(Callbacks, TensorBoardScalarsPerStepAndEpoch) {
  const std::string logdir = test::scratch_dir() + "/tb";
  Model m = compiled_mlp();
  auto tb = std::make_shared<TensorBoardCallback>(logdir);
  FitOptions o = quiet(2);  // 64 samples / 16 = 4 steps per epoch
  o.callbacks = {tb};
  m.fit(blobs(64), o);
  auto events = read_tensorboard_events(tb->event_file());
  std::map<std::string, std::vector<int64_t>> steps;
  for (const auto& e : events)
    for (const auto& [tag, v] : e.scalars) steps[tag].push_back(e.step);
  EXPECT_EQ(steps["batch/loss"], (std::vector<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(steps["epoch/loss"], (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(steps["epoch/accuracy"].size(), 2u);
}

std::string run_with_progress(int verbose, bool json, bool tty) {
  std::FILE* f = std::tmpfile();
  auto bar = std::make_shared<ProgressBar>(verbose, json, f);
  bar->force_tty(tty);
  Model m = compiled_mlp();
  FitOptions o = quiet(2, 4);  // 100 samples / 4 = 25 steps per epoch
  o.callbacks = {bar};
  o.validation_split = 0.2;  // 80 train samples: 20 steps
  m.fit(blobs(100), o);
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  std::fclose(f);
  return out;
}

int count(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Callbacks, ProgressBarPlainLines) {
  const std::string out = run_with_progress(1, false, false);
  EXPECT_EQ(count(out, "Epoch 1/2\n"), 1);
  EXPECT_EQ(count(out, "Epoch 2/2\n"), 1);
  EXPECT_EQ(count(out, "\r"), 0);
  // About one line per 10% of the epoch, plus the end-of-epoch line with validation values.
  EXPECT_LE(count(out, "\n"), 2 * 12);
  EXPECT_GE(count(out, "\n"), 2 * 8);
  EXPECT_NE(out.find("samples/s - loss: "), std::string::npos);
  EXPECT_NE(out.find("ETA "), std::string::npos);
  EXPECT_EQ(count(out, "20/20 - "), 2);
  EXPECT_EQ(count(out, "val_accuracy: "), 2);
}

TEST(Callbacks, ProgressBarTtyAndQuietAndJson) {
  const std::string tty = run_with_progress(1, false, true);
  EXPECT_GT(count(tty, "\r\033[K"), 2);
  EXPECT_NE(tty.find("/20 ["), std::string::npos);
  EXPECT_EQ(run_with_progress(0, false, false), "");
  const std::string verbose2 = run_with_progress(2, false, false);
  EXPECT_EQ(count(verbose2, "\n"), 2);
  EXPECT_EQ(verbose2.rfind("Epoch 1/2 - ", 0), 0u);
  const std::string js = run_with_progress(0, true, false);
  EXPECT_EQ(count(js, "\n"), 2);
  auto first = json::parse(js.substr(0, js.find('\n')));
  EXPECT_EQ(first["epoch"], 1);
  EXPECT_TRUE(first.contains("val_loss"));
  EXPECT_TRUE(first.contains("samples_per_second"));
}

TEST(Callbacks, MakeCallbacks) {
  const std::string run = test::scratch_dir();
  auto cbs = make_callbacks(json::parse(R"({"early_stopping": {"patience": 3, "restore_best_weights": true},
      "reduce_lr_on_plateau": {"factor": 0.5}, "csv_logger": true, "tensorboard": true,
      "model_checkpoint": {"save_best_only": true}, "terminate_on_nan": false})"),
                            run);
  ASSERT_EQ(cbs.size(), 5u);
  EXPECT_TRUE(dynamic_cast<ReduceLROnPlateau*>(cbs[0].get()));
  EXPECT_TRUE(dynamic_cast<EarlyStopping*>(cbs[1].get()));
  EXPECT_TRUE(dynamic_cast<CSVLoggerCallback*>(cbs[2].get()));
  EXPECT_TRUE(dynamic_cast<TensorBoardCallback*>(cbs[3].get()));
  auto* ck = dynamic_cast<ModelCheckpoint*>(cbs[4].get());
  ASSERT_TRUE(ck);
  EXPECT_EQ(ck->dir(), run + "/checkpoints");
  EXPECT_TRUE(make_callbacks(nullptr, run).empty());
  EXPECT_THROW_MSG(make_callbacks({{"early_stop", true}}, run),
                   "[callbacks] unknown callback 'early_stop'; valid callbacks: early_stopping");
  EXPECT_THROW_MSG(make_callbacks({{"early_stopping", {{"patients", 3}}}}, run),
                   "early_stopping: unknown option 'patients'; valid options: monitor, patience");
  EXPECT_THROW_MSG(make_callbacks({{"early_stopping", {{"patience", "3"}}}}, run), "must be an integer");
  EXPECT_THROW_MSG(make_callbacks({{"csv_logger", 3}}, run), "must be true, false or an object");
}

}  // namespace
}  // namespace forge::train

namespace forge::train {
namespace {

// Runs `epochs` epochs with fresh callbacks from `make`, checkpointing every epoch into dir.
struct ResumeRun {
  std::shared_ptr<EarlyStopping> es;
  std::shared_ptr<ReduceLROnPlateau> plateau;
  History history;
};

ResumeRun run_with_state(Model& m, const std::string& dir, int64_t initial, int64_t epochs) {
  ResumeRun r;
  // mode "max" on a falling loss: only the first epoch of a fresh monitor improves.
  r.es = std::make_shared<EarlyStopping>("loss", 3, 0, "max", true);
  r.plateau = std::make_shared<ReduceLROnPlateau>("loss", 0.5, 1, 0, 0, "max");
  FitOptions o = test::quiet(epochs);
  o.initial_epoch = initial;
  o.callbacks = {r.es, r.plateau, std::make_shared<ModelCheckpoint>(dir, "loss")};
  m.fit(test::blobs(64), o);
  r.history = m.history();
  return r;
}

TEST(Callbacks, CountersSurviveResume) {
  const std::string dir = test::scratch_dir() + "/ck";
  Model full = test::compiled_mlp();
  ResumeRun a = run_with_state(full, dir + "_full", 0, 10);
  ASSERT_EQ(a.es->stopped_epoch(), 4);  // epoch 0 improves, 1..4 do not, patience 3

  Model first = test::compiled_mlp();
  run_with_state(first, dir, 0, 2);  // killed after epoch 1: wait counters are 1
  Model resumed = test::compiled_mlp(99);
  History h;
  const int64_t next = resumed.load_checkpoint(dir + "/last", &h);
  ASSERT_EQ(next, 2);
  ResumeRun b = run_with_state(resumed, dir, next, 10);
  EXPECT_EQ(b.es->stopped_epoch(), 4) << "EarlyStopping must continue counting from the checkpoint";
  EXPECT_EQ(b.es->best_epoch(), 0);
  ASSERT_EQ(b.history.epochs.size(), a.history.epochs.size());
  EXPECT_EQ(b.history.column("lr"), a.history.column("lr"));  // plateau wait/cooldown carried over
  // restore_best_weights restored epoch 0's weights from the checkpointed copy.
  EXPECT_TRUE(test::same_weights(full, resumed));
}

TEST(Callbacks, CorruptCallbackStateIsNamed) {
  const std::string dir = test::scratch_dir() + "/ck";
  Model m = test::compiled_mlp();
  run_with_state(m, dir, 0, 1);
  {
    std::ifstream in(dir + "/last/checkpoint.json");
    nlohmann::json ck = nlohmann::json::parse(in);
    ck["callbacks"]["EarlyStopping"]["wait"] = "three";
    std::ofstream(dir + "/last/checkpoint.json") << ck.dump();
  }
  Model r = test::compiled_mlp();
  const int64_t next = r.load_checkpoint(dir + "/last", nullptr);
  EXPECT_THROW_MSG(run_with_state(r, dir, next, 3), "[load_checkpoint] callback EarlyStopping: corrupt state");
}

}  // namespace
}  // namespace forge::train
