// The fine-tuning recipe: accumulation equals the large batch, weight decay spares biases and
// LayerNorm weights, the warmup/decay schedule, bucketing, config errors, and a short end-to-end
// run whose saved classifier reloads and reproduces the reported test metrics.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_util.h"
#include "finetune/classifier_recipe.h"
#include "finetune/finetune.h"
#include "finetune_test_util.h"
#include "optim/optimizers.h"
#include "optim/schedule.h"
#include "test_util.h"
#include "train/metrics.h"
#include "train/run.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using namespace finetune;

std::vector<LabeledIds> random_examples(int64_t n, uint64_t seed) {
  Generator gen(seed);
  std::vector<LabeledIds> out;
  for (int64_t i = 0; i < n; ++i) {
    LabeledIds e;
    const auto len = 3 + static_cast<int64_t>(gen.next_u64() % 8);  // 3..10 tokens: unequal padding
    e.ids.push_back(1);
    for (int64_t t = 1; t < len - 1; ++t) e.ids.push_back(static_cast<int32_t>(3 + gen.next_u64() % 17));
    e.ids.push_back(2);
    e.label = static_cast<int64_t>(gen.next_u64() % 3);
    out.push_back(e);
  }
  return out;
}

// Runs one optimizer step over `window` in micro-batches of `micro` and returns the parameters after it.
NamedTensors step_with(int64_t micro, const std::vector<LabeledIds>& ex, const std::vector<int64_t>& window,
                       double clip) {
  BertClassifier model(test::tiny_config(), 11);
  model.train();
  SGDOptions o;
  o.lr = 0.5;
  SGD opt(model.named_parameters(), o);
  accumulation_step(model, opt, ex, window, micro, clip);
  NamedTensors out;
  for (const auto& p : model.named_parameters()) out.push_back({p.name, p.tensor.detach().clone()});
  return out;
}

std::vector<int64_t> iota_window(int64_t n) {
  std::vector<int64_t> w(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) w[static_cast<size_t>(i)] = i;
  return w;
}

double max_diff(const NamedTensors& a, const NamedTensors& b) {
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    const Tensor x = a[i].tensor.contiguous(), y = b[i].tensor.contiguous();
    for (int64_t j = 0; j < x.numel(); ++j) {
      m = std::max(m, std::abs(static_cast<double>(x.data<float>()[j]) - y.data<float>()[j]));
    }
  }
  return m;
}

TEST(FinetuneRecipe, AccumulationEqualsLargeBatch) {
  const auto ex = random_examples(16, 1);
  const auto window = iota_window(16);
  const NamedTensors big = step_with(16, ex, window, 0.0);
  const NamedTensors accumulated = step_with(4, ex, window, 0.0);  // 4 micro-batches of 4
  const NamedTensors initial = [] {
    BertClassifier m(test::tiny_config(), 11);
    NamedTensors out;
    for (const auto& p : m.named_parameters()) out.push_back({p.name, p.tensor.detach().clone()});
    return out;
  }();
  EXPECT_GT(max_diff(big, initial), 1e-3);  // the step moved the weights
  EXPECT_LT(max_diff(big, accumulated), 2e-6);
  // Clipping applies to the accumulated gradient of the whole window.
  EXPECT_LT(max_diff(step_with(16, ex, window, 0.05), step_with(4, ex, window, 0.05)), 2e-6);
}

TEST(FinetuneRecipe, UnequalMicroBatchesAreNormalizedOverTheWindow) {
  // 14 examples in micro-batches 4, 4, 4, 2: averaging per micro-batch would weight the last two
  // examples twice; normalizing by the window's 14 examples matches the single batch.
  const auto ex = random_examples(14, 2);
  const auto window = iota_window(14);
  EXPECT_LT(max_diff(step_with(14, ex, window, 0.0), step_with(4, ex, window, 0.0)), 2e-6);
}

TEST(FinetuneRecipe, WeightDecaySparesBiasesAndLayerNorm) {
  EXPECT_TRUE(uses_weight_decay("encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(uses_weight_decay("embeddings.word_embeddings.weight"));
  EXPECT_TRUE(uses_weight_decay("classifier.weight"));
  EXPECT_FALSE(uses_weight_decay("encoder.layer.0.attention.self.query.bias"));
  EXPECT_FALSE(uses_weight_decay("encoder.layer.0.output.LayerNorm.weight"));
  EXPECT_FALSE(uses_weight_decay("embeddings.LayerNorm.weight"));

  BertClassifier model(test::tiny_config(), 4);
  NamedTensors before;
  for (const auto& p : model.named_parameters()) before.push_back({p.name, p.tensor.detach().clone()});
  AdamWOptions o;
  o.lr = 0.1;
  o.weight_decay = 0.5;
  AdamW opt(weight_decay_groups(model, o.weight_decay), o);
  // Zero gradients everywhere: Adam's step is 0, so only the decoupled decay moves a weight.
  Tensor zero_loss = zeros({});
  for (const auto& p : model.named_parameters()) zero_loss = add(zero_loss, mul(sum(p.tensor), 0.0));
  zero_loss.backward();
  opt.step();
  int decayed = 0, kept = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    const Tensor now = model.named_parameters()[i].tensor.contiguous();
    const Tensor old = before[i].tensor.contiguous();
    const double factor = uses_weight_decay(before[i].name) ? 1.0 - 0.1 * 0.5 : 1.0;
    (factor < 1 ? decayed : kept)++;
    for (int64_t j = 0; j < now.numel(); ++j) {
      ASSERT_NEAR(now.data<float>()[j], old.data<float>()[j] * factor, 1e-6) << before[i].name;
    }
  }
  EXPECT_GT(decayed, 0);
  EXPECT_GT(kept, 0);
}

TEST(FinetuneRecipe, WarmupThenLinearDecay) {
  EXPECT_EQ(warmup_steps(0.1, 100), 10);
  EXPECT_EQ(warmup_steps(0.1, 95), 10);  // rounded up
  EXPECT_EQ(warmup_steps(7, 100), 7);    // >= 1: a step count
  EXPECT_EQ(warmup_steps(0, 100), 0);
  const WarmupLinear s(1e-4, warmup_steps(0.1, 100), 100);
  EXPECT_DOUBLE_EQ(s.lr_at(0), 0.0);
  EXPECT_DOUBLE_EQ(s.lr_at(5), 5e-5);
  EXPECT_DOUBLE_EQ(s.lr_at(10), 1e-4);
  EXPECT_NEAR(s.lr_at(55), 5e-5, 1e-15);
  EXPECT_DOUBLE_EQ(s.lr_at(100), 0.0);
}

TEST(FinetuneRecipe, WindowsCoverEveryExampleOnceAndPadLittle) {
  std::vector<int64_t> lengths;
  for (int64_t i = 0; i < 1000; ++i) lengths.push_back(2 + (i * 37) % 120);
  const auto windows = bucketed_windows(lengths, 16, 3);
  ASSERT_EQ(windows.size(), 63u);  // 62 full windows and one of 8
  std::vector<int> seen(1000, 0);
  int64_t padded = 0, tokens = 0;
  for (const auto& w : windows) {
    int64_t longest = 0;
    for (int64_t i : w) {
      seen[static_cast<size_t>(i)]++;
      longest = std::max(longest, lengths[static_cast<size_t>(i)]);
      tokens += lengths[static_cast<size_t>(i)];
    }
    padded += longest * static_cast<int64_t>(w.size());
  }
  for (int s : seen) ASSERT_EQ(s, 1);
  EXPECT_LT(static_cast<double>(padded) / static_cast<double>(tokens), 1.1);  // random windows: ~1.9
  EXPECT_NE(bucketed_windows(lengths, 16, 4)[0], windows[0]);                 // reshuffled per seed
}

// Writes a config into a fresh folder and returns its path.
std::string write_config(const std::string& tag, const std::string& body) {
  const fs::path dir = fs::temp_directory_path() / ("forge_finetune_test_" + tag);
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "config.toml") << body;
  return (dir / "config.toml").string();
}

std::string small_config(const std::string& model_extra = "", const std::string& data_extra = "",
                         const std::string& train_extra = "") {
  return "name = \"smoke\"\n[model]\ntype = \"bert\"\npath = \"" + test::required_minilm_dir() + "\"\n" + model_extra +
         "[data]\nname = \"fortunes\"\nmaxlen = 24\ntrain_subset = 48\ntest_subset = 12\n" + data_extra +
         "[train]\nepochs = 1\nbatch_size = 4\naccumulation = 2\nlr = 1e-4\nwarmup = 1\nthreads = 1\nlog_every = 1\n" +
         train_extra;
}

TEST(FinetuneRecipe, ConfigErrors) {
  EXPECT_THROW_MSG(parse_classifier_config(write_config("nopath", "[model]\ntype = \"bert\"\n")),
                   "[model] path is required");
  EXPECT_THROW_MSG(parse_classifier_config(write_config("badpath", "[model]\ntype = \"bert\"\npath = \"nowhere\"\n")),
                   "is not a directory (scripts/fetch_models.sh");
  EXPECT_THROW_MSG(parse_classifier_config(write_config("unknown", small_config("", "", "momentum = 0.9\n"))),
                   "unknown key 'momentum' in [train]");
  EXPECT_THROW_MSG(parse_classifier_config(write_config("badclip", small_config("", "", "clip_norm = -1\n"))),
                   "clip_norm must be >= 0, got -1");
  EXPECT_THROW_MSG(parse_classifier_config(write_config(
                       "nodata", "[model]\ntype = \"bert\"\npath = \"" + test::required_minilm_dir() + "\"\n")),
                   "[data] needs name = \"fortunes\"");
  FinetuneOptions o;
  o.config_path = write_config("maxlen", "[model]\ntype = \"bert\"\npath = \"" + test::required_minilm_dir() +
                                             "\"\n[data]\nname = \"fortunes\"\nmaxlen = 600\n");
  EXPECT_THROW_MSG(run_classifier_finetune(o), "[data] maxlen 600 exceeds the model's 512 positions");
}

TEST(FinetuneRecipe, ShortRunSavesAClassifierThatReloads) {
  const std::string cfg = write_config("run", small_config());
  const std::string out = (fs::path(cfg).parent_path() / "run").string();
  FinetuneOptions o;
  o.config_path = cfg;
  o.out_dir = out;
  o.max_steps = 3;
  std::vector<std::string> lines;
  o.log = [&](const std::string& l) { lines.push_back(l); };
  const nlohmann::json m = run_classifier_finetune(o);
  EXPECT_EQ(m["steps"].get<int64_t>(), 3);
  EXPECT_TRUE(fs::exists(out + "/metrics.json"));
  EXPECT_TRUE(fs::exists(out + "/history.csv"));
  bool progress = false;
  for (const auto& l : lines) progress = progress || l.find("samples/s") != std::string::npos;
  EXPECT_TRUE(progress);
  // Reload and reproduce the test metrics on the same split.
  const TextClassifier clf = load_classifier(m["model_dir"].get<std::string>());
  EXPECT_EQ(clf.label_names.size(), 43u);
  EXPECT_EQ(clf.maxlen, 24);
  const auto c = parse_classifier_config(cfg);
  const train::RawData raw = train::load_text_raw_data(c.data, c.seed);
  const auto pred = clf.predict(train::rows_to_texts(raw, raw.x_test));
  const Tensor p = from_vector<int64_t>(pred, {static_cast<int64_t>(pred.size())});
  EXPECT_DOUBLE_EQ(metrics::accuracy(p, raw.y_test), m["test"]["accuracy"].get<double>());
  EXPECT_DOUBLE_EQ(metrics::f1(p, raw.y_test, metrics::Average::kMacro), m["test"]["f1_macro"].get<double>());
}

TEST(FinetuneRecipe, CliSmokeRun) {
  const std::string cfg = write_config("cli", small_config());
  const std::string out = (fs::path(cfg).parent_path() / "run").string();
  const test::CliRun r = test::run_forge("finetune " + cfg + " --max-steps 2 --out " + out);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("step 2/2 loss"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("test: loss"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("run directory: " + out), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(out + "/model/model.safetensors"));
  // The saved classifier works with `forge predict` and `forge eval`.
  const test::CliRun pr = test::run_forge("predict " + out + "/model \"Love is blind\" --json");
  EXPECT_EQ(pr.exit_code, 0) << pr.output;
  EXPECT_NE(pr.output.find("\"input\":\"Love is blind\""), std::string::npos) << pr.output;
  const test::CliRun ev = test::run_forge("eval " + out + "/model --json");
  EXPECT_EQ(ev.exit_code, 0) << ev.output;
  EXPECT_NE(ev.output.find("\"samples\":12"), std::string::npos) << ev.output;
  EXPECT_NE(ev.output.find("f1_macro"), std::string::npos) << ev.output;
  const test::CliRun bad = test::run_forge("finetune " + write_config("clibad", small_config("dropout = 0.2\n")));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("unknown key 'dropout' in [model]"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace forge
