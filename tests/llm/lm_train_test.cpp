#include <filesystem>
#include <fstream>
#include <sstream>

#include "formats/safetensors.h"
#include "llm/generate.h"
#include "llm/load.h"
#include "test_util.h"
#include "train/lm_run.h"

namespace forge::train {
namespace {

namespace fs = std::filesystem;

class LmTrain : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("forge_lm_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream f(dir_ / "corpus.txt");
    for (int i = 0; i < 60; ++i) f << "the cat sat on the mat. the dog sat on the log. " << (i % 7) << "\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string config(int epochs, const std::string& extra_train = "", double dropout = 0.0) const {
    return "name = \"t\"\n[data]\nfiles = [\"corpus.txt\"]\nvalidation_split = 0.2\n"
           "[model]\ntype = \"gpt\"\nn_layer = 1\nn_head = 2\nd_model = 16\ncontext = 16\n"
           "dropout = " + std::to_string(dropout) + "\n[train]\nepochs = " + std::to_string(epochs) +
           "\nsteps_per_epoch = 12\nbatch_size = 4\nlr = 0.01\nwarmup_steps = 3\n" + extra_train;
  }
  LmRunResult run(const std::string& cfg, const std::string& out, bool resume = false, int64_t stop_after = 0) {
    RunOptions o;
    o.out_dir = (dir_ / out).string();
    o.resume = resume;
    return run_lm_training(parse_lm_config(cfg, "test.toml", dir_.string()), o, stop_after);
  }
  fs::path dir_;
};

TEST_F(LmTrain, LossDropsAndBeatsUnigram) {
  auto r = run(config(3), "a");
  ASSERT_EQ(r.history.epochs.size(), 3u);
  EXPECT_LT(r.history.epochs[2].at("loss"), r.history.epochs[0].at("loss"));
  EXPECT_LT(r.val_loss, r.unigram_val_loss);
  EXPECT_NEAR(r.val_perplexity, std::exp(r.val_loss), 1e-9);
  EXPECT_TRUE(fs::exists(dir_ / "a" / "model" / "config.json"));
  EXPECT_TRUE(fs::exists(dir_ / "a" / "history.csv"));
  EXPECT_TRUE(fs::exists(dir_ / "a" / "metrics.json"));
  EXPECT_FALSE(r.sample.empty());
}

TEST_F(LmTrain, ResumeIsExact) {
  // With dropout, random windows and accumulation, so every generator state matters.
  const std::string extra = "accumulate = 2\nclip_norm = 0.5\n";
  run(config(2, extra, 0.1), "straight");
  run(config(2, extra, 0.1), "resumed", false, 1);
  auto r = run(config(2, extra, 0.1), "resumed", true);
  EXPECT_EQ(r.epochs_run, 1);
  std::ifstream h1(dir_ / "straight" / "history.csv"), h2(dir_ / "resumed" / "history.csv");
  std::stringstream s1, s2;
  s1 << h1.rdbuf();
  s2 << h2.rdbuf();
  EXPECT_EQ(s1.str(), s2.str());
  auto a = load_safetensors((dir_ / "straight" / "model" / "model.safetensors").string());
  auto b = load_safetensors((dir_ / "resumed" / "model" / "model.safetensors").string());
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    EXPECT_EQ(t.to_vector<float>(), b.at(name).to_vector<float>()) << name;
  }
}

TEST_F(LmTrain, BpeTokenizerRunLoadsForGeneration) {
  std::string cfg = config(1);
  cfg.replace(cfg.find("validation_split"), 0, "tokenizer = \"bpe\"\nvocab_size = 300\n");
  auto r = run(cfg, "bpe");
  EXPECT_TRUE(std::isfinite(r.val_loss));
  auto lm = llm::load_causal_lm((dir_ / "bpe").string());
  EXPECT_EQ(lm->tokenizer()->kind(), "bpe");
  EXPECT_EQ(lm->vocab_size(), lm->tokenizer()->vocab_size());
  llm::GenerateOptions o;
  o.max_tokens = 5;
  auto g = llm::generate(*lm, lm->tokenizer()->encode("the cat"), o);
  EXPECT_LE(g.completion_tokens, 5);
}

TEST_F(LmTrain, SequentialWindows) {
  auto r = run(config(1, "windows = \"sequential\"\n"), "s");
  EXPECT_TRUE(std::isfinite(r.val_loss));
}

TEST_F(LmTrain, ConfigErrors) {
  EXPECT_THROW_MSG(parse_lm_config(config(1) + "bogus = 1\n", "x.toml"), "unknown key 'bogus' in [train]");
  EXPECT_THROW_MSG(parse_lm_config("name = \"t\"\n[data]\ncorpus = \"nope\"\n[model]\ntype = \"gpt\"\n[train]\n", "x.toml"),
                   "'corpus' in [data] must be one of fortunes, fortunes-zh");
  EXPECT_THROW_MSG(
      parse_lm_config("name = \"t\"\n[data]\ncorpus = \"fortunes\"\n[model]\ntype = \"gpt\"\nd_model = 10\nn_head = 3\n"
                      "[train]\n",
                      "x.toml"),
      "d_model 10 must be divisible by n_head 3");
  EXPECT_THROW_MSG(parse_lm_config("name = \"t\"\n[data]\n[model]\ntype = \"gpt\"\n[train]\n", "x.toml"),
                   "needs exactly one of 'corpus'");
  std::ofstream(dir_ / "empty.txt").close();
  LmConfig c = parse_lm_config(config(1), "x.toml", dir_.string());
  c.files = {(dir_ / "empty.txt").string()};
  EXPECT_THROW_MSG(load_lm_corpus(c), "is empty");
  EXPECT_THROW_MSG(run(config(1), "missing", true), "--resume: no checkpoint");
}

}  // namespace
}  // namespace forge::train
