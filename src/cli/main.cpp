// The forge command line. Each subcommand lives in its own file; this file only wires them.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "core/parallel.h"

int main(int argc, char** argv) {
  forge::configure_openmp_wait(argv);  // bounded spin, then sleep (core/parallel.h)
  CLI::App app{"forge: train, run and serve neural networks in one native binary"};
  app.require_subcommand(1);
  forge::cli::register_quickstart(app);
  forge::cli::register_train(app);
  forge::cli::register_eval(app);
  forge::cli::register_predict(app);
  forge::cli::register_summary(app);
  forge::cli::register_demo(app);
  forge::cli::register_bench(app);
  forge::cli::register_inspect(app);
  forge::cli::register_quantize(app);
  forge::cli::register_tokenize(app);
  forge::cli::register_generate(app);
  forge::cli::register_chat(app);
  forge::cli::register_embed(app);
  forge::cli::register_serve(app);
  forge::cli::register_keys(app);
  forge::cli::register_usage(app);
  forge::cli::register_finetune(app);
  forge::cli::register_lora(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const forge::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
