// `forge quickstart`: trains the seed documents' CNN on Fashion-MNIST with live progress,
// evaluates it, saves it and says where everything is. Same settings as
// examples/cnn_fashion/config.toml.
#include "train/quickstart.h"

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/print.h"
#include "train/run.h"

namespace forge::cli {

void register_quickstart(CLI::App& app) {
  struct Args {
    std::string out = "runs/quickstart";
    int64_t epochs = 0;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("quickstart", "Train, evaluate and save a CNN on Fashion-MNIST in a few minutes");
  cmd->add_option("--out", a->out, "run directory")->capture_default_str();
  cmd->add_option("--epochs", a->epochs, "override the number of epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "kernel threads (default: all cores)")->check(CLI::PositiveNumber);
  cmd->callback([a] {
    train::RunConfig config = train::quickstart_config();
    config.name = "quickstart";
    const int64_t epochs = a->epochs > 0 ? a->epochs : config.train.epochs;
    fmt::print(
        "forge quickstart: a CNN (Conv2D 32 3x3 relu, MaxPooling2D 2, Conv2D 64 3x3 relu, MaxPooling2D 2,\n"
        "Conv2D 64 3x3 relu, Flatten, Dense 64 relu, Dense 10 softmax; Adam lr 0.001; sparse categorical\n"
        "cross-entropy; batch {}) on Fashion-MNIST for {} epoch(s): trains on {} of the 60000 training\n"
        "images ({:.0f}% held out for validation) and tests on all 10000 test images. About 3.5 minutes\n"
        "on two cores. Same settings: examples/cnn_fashion/config.toml\n\n",
        config.train.batch_size, epochs,
        config.data.train_subset > 0 ? fmt::format("the first {}", config.data.train_subset) : std::string("all"),
        config.data.validation_split * 100);
    train::RunOptions o;
    o.out_dir = a->out;
    o.epochs = a->epochs;
    o.threads = a->threads;
    o.log = [](const std::string& line) { fmt::print("{}\n", line); };
    const train::RunResult r = train::run_training(config, o);
    const auto acc = r.test_metrics.find("accuracy");
    if (acc != r.test_metrics.end()) fmt::print("\ntest accuracy: {:.4f}\n", acc->second);
    print_run_result(r, false);
    fmt::print(
        "\nnext:\n"
        "  ./build/forge eval {0}/model                  # evaluate again\n"
        "  ./build/forge predict {0}/model IMAGE.png     # classify a 28x28 grey image\n"
        "  ./build/forge summary {0}/model               # the layer table\n"
        "serve it (HTTP API + web playground at http://127.0.0.1:8080/):\n"
        "  ./build/forge keys create --name me           # prints an API key once\n"
        "  ./build/forge serve --model fashion={0}/model --keys forge-keys.db\n"
        "  curl -H \"Authorization: Bearer KEY\" -d '{{\"images\": [\"<base64 PNG>\"]}}' \\\n"
        "       http://127.0.0.1:8080/v1/predict/fashion\n",
        r.run_dir);
  });
}

}  // namespace forge::cli
