// `forge summary MODEL_DIR|CONFIG.toml`: the Keras-style layer table.
#include <fmt/format.h>

#include "cli/commands.h"
#include "train/run.h"

namespace forge::cli {

void register_summary(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("summary", "Print the layer table of a model directory or of a config");
  cmd->add_option("path", *path, "model directory or run config (.toml)")->required();
  cmd->callback([path] { fmt::print("{}", train::summarize(*path)); });
}

}  // namespace forge::cli
