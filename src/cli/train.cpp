// `forge train CONFIG.toml`: trains, evaluates and saves a run described by a TOML config.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/print.h"
#include "train/config.h"
#include "train/lm_run.h"
#include "train/run.h"

namespace forge::cli {

namespace {

struct TrainArgs {
  std::string config;
  std::string out;
  int64_t epochs = 0;
  int threads = 0;
  bool resume = false;
  bool quiet = false;
  bool json = false;
};

}  // namespace

void print_run_result(const train::RunResult& r, bool json) {
  if (json) {
    std::cout << r.metrics.dump() << std::endl;
    return;
  }
  fmt::print("test: {}\n", format_metrics(r.test_metrics));
  if (r.confusion.defined()) fmt::print("confusion matrix (test):\n{}", format_confusion(r.confusion, r.label_names));
  fmt::print("trained {} epoch(s) in {:.1f} s ({:.0f} samples/s); wall time {:.1f} s; peak memory {:.0f} MiB\n",
             r.epochs_run, r.train_seconds, r.samples_per_second, r.wall_seconds, r.peak_rss_mb);
  if (r.metrics.contains("line")) {
    fmt::print("learned line: y = {:.4f} x + {:.4f}\n", r.metrics["line"]["w"].get<double>(),
               r.metrics["line"]["b"].get<double>());
  }
  fmt::print("run directory: {}  (model/, checkpoint/, metrics.json, history.csv)\n", r.run_dir);
  if (!r.plot_warning.empty()) {
    fmt::print(stderr, "warning: {}\n", r.plot_warning);
  } else if (!r.plots.empty()) {
    fmt::print("plots: {}\n", fmt::join(r.plots, ", "));
  }
}

namespace {

void run_lm(const std::string& path, const std::string& out, int64_t epochs, bool resume, bool quiet, bool json) {
  train::RunOptions o;
  o.out_dir = out;
  o.epochs = epochs;
  o.resume = resume;
  o.verbose = quiet ? 0 : 1;
  if (!quiet && !json) o.log = [](const std::string& line) { fmt::print("{}\n", line); };
  const train::LmRunResult r = train::run_lm_training(train::load_lm_config(path), o);
  if (json) {
    std::cout << r.metrics.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    return;
  }
  fmt::print("val_loss {:.4f}, val_perplexity {:.2f} (unigram baseline val_loss {:.4f}); {:.0f} tokens/s\n", r.val_loss,
             r.val_perplexity, r.unigram_val_loss, r.tokens_per_second);
  fmt::print("sample: {}\n", r.sample);
  fmt::print("run directory: {}  (model/, checkpoint/, metrics.json, history.csv); try: forge generate {} --prompt ...\n",
             r.run_dir, r.run_dir);
}

}  // namespace

void register_train(CLI::App& app) {
  auto a = std::make_shared<TrainArgs>();
  auto* cmd = app.add_subcommand("train", "Train, evaluate and save a model described by a TOML config");
  cmd->add_option("config", a->config, "run config (.toml); see docs/cli.md")->required();
  cmd->add_option("--out", a->out, "run directory (default runs/<name>)");
  cmd->add_option("--epochs", a->epochs, "override [train] epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "override [train] threads")->check(CLI::PositiveNumber);
  cmd->add_flag("--resume", a->resume, "continue from the run's last checkpoint");
  cmd->add_flag("--quiet,-q", a->quiet, "no progress output, only the results");
  cmd->add_flag("--json", a->json, "progress and results as JSON lines on stdout");
  cmd->callback([a] {
    if (train::is_lm_config(a->config)) {  // [model] type = "gpt": a language-model run
      run_lm(a->config, a->out, a->epochs, a->resume, a->quiet, a->json);
      return;
    }
    const train::RunConfig config = train::load_run_config(a->config);
    train::RunOptions o;
    o.out_dir = a->out;
    o.epochs = a->epochs;
    o.threads = a->threads;
    o.resume = a->resume;
    o.verbose = a->quiet ? 0 : 1;
    o.json = a->json;
    if (!a->quiet && !a->json) o.log = [](const std::string& line) { fmt::print("{}\n", line); };
    print_run_result(train::run_training(config, o), a->json);
  });
}

}  // namespace forge::cli
