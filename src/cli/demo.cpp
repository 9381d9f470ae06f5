// `forge demo` — placeholder wiring until the training CLI lands; see docs/STATUS.md.
#include <iostream>

#include "cli/commands.h"

namespace forge::cli {

void register_demo(CLI::App& app) {
  auto* demo = app.add_subcommand("demo", "Train the two-layer example network");
  demo->callback([] { std::cout << "demo: not yet wired\n"; });
}

}  // namespace forge::cli
