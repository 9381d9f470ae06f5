// bf16 GPT training: `precision = "bf16"` in an LM config runs the GPT's matmuls (linear layers,
// attention) in bf16 with fp32 master weights; the loss curve stays within 2% of fp32's.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "models/gpt.h"
#include "nn/loss.h"
#include "ops/precision.h"
#include "optim/optimizers.h"
#include "test_util.h"
#include "train/lm_run.h"

namespace forge::train {
namespace {

namespace fs = std::filesystem;

class LmBf16 : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("forge_lm_bf16_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream f(dir_ / "corpus.txt");
    for (int i = 0; i < 60; ++i) f << "the cat sat on the mat. the dog sat on the log. " << (i % 7) << "\n";
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string config(const std::string& precision) const {
    return "name = \"t\"\n[data]\nfiles = [\"corpus.txt\"]\nvalidation_split = 0.2\n"
           "[model]\ntype = \"gpt\"\nn_layer = 2\nn_head = 2\nd_model = 32\ncontext = 32\n"
           "[train]\nepochs = 4\nsteps_per_epoch = 10\nbatch_size = 4\nlr = 0.003\nwarmup_steps = 3\n"
           "precision = \"" + precision + "\"\n";
  }
  LmRunResult run(const std::string& precision) {
    RunOptions o;
    o.out_dir = (dir_ / precision).string();
    o.verbose = 0;
    return run_lm_training(parse_lm_config(config(precision), "test.toml", dir_.string()), o);
  }
  fs::path dir_;
};

TEST_F(LmBf16, LossCurveMatchesFp32) {
  FORGE_REQUIRE_BF16();
  const LmRunResult f = run("fp32"), b = run("bf16");
  ASSERT_EQ(f.history.epochs.size(), 4u);
  ASSERT_EQ(b.history.epochs.size(), 4u);
  bool differs = false;
  for (size_t e = 0; e < 4; ++e) {
    const double lf = f.history.epochs[e].at("loss"), lb = b.history.epochs[e].at("loss");
    EXPECT_NEAR(lb / lf, 1.0, 0.02) << "epoch " << e + 1 << ": fp32 " << lf << ", bf16 " << lb;
    differs = differs || lf != lb;
  }
  EXPECT_TRUE(differs) << "bf16 gave bit-identical losses: the precision setting had no effect";
  EXPECT_LT(b.history.epochs[3].at("loss"), b.history.epochs[0].at("loss"));
  EXPECT_NEAR(b.val_loss / f.val_loss, 1.0, 0.02);
  EXPECT_EQ(b.metrics.at("precision"), "bf16");
}

TEST_F(LmBf16, ConfigErrors) {
  EXPECT_THROW_MSG(parse_lm_config(config("fp16"), "x.toml", dir_.string()),
                   "'precision' in [train] must be one of fp32, bf16");
  EXPECT_EQ(parse_lm_config(config("bf16"), "x.toml", dir_.string()).precision, "bf16");
}

// The same at the model level: a few AdamW steps of a tiny GPT under PrecisionGuard(kBF16) keep
// fp32 parameters and a loss within 2% of fp32's.
TEST(GptBf16, StepsStayCloseToFp32AndKeepFp32Weights) {
  FORGE_REQUIRE_BF16();
  const models::GptConfig c{.vocab_size = 17, .context = 16, .n_layer = 2, .n_head = 2, .d_model = 32};
  std::vector<int64_t> x, y;
  for (int64_t i = 0; i < 4 * 16; ++i) {
    x.push_back((i * 5 + 3) % 17);
    y.push_back((i * 5 + 8) % 17);
  }
  auto train = [&](Precision p) {
    models::Gpt m(c, 7);
    AdamW opt(m.named_parameters(), {.lr = 3e-3});
    PrecisionGuard guard(p);
    std::vector<double> losses;
    for (int s = 0; s < 8; ++s) {
      opt.zero_grad();
      Tensor loss = sparse_categorical_cross_entropy_with_logits(
          m.forward(from_vector<int64_t>(x, {4, 16})).reshape({64, 17}), from_vector<int64_t>(y, {64}));
      loss.backward();
      opt.step();
      losses.push_back(loss.item());
    }
    for (const auto& nt : m.named_parameters()) EXPECT_EQ(nt.tensor.dtype(), DType::kF32) << nt.name;
    return losses;
  };
  const auto f = train(Precision::kF32), b = train(Precision::kBF16);
  for (size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(b[i] / f[i], 1.0, 0.02) << "step " << i;
  EXPECT_NE(f.back(), b.back());
  EXPECT_LT(b.back(), b.front());
}

}  // namespace
}  // namespace forge::train
