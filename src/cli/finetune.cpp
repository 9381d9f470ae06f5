// `forge finetune CONFIG.toml`: fine-tunes a pretrained checkpoint (BERT classifier or Llama LoRA).
#include <fmt/format.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "finetune/finetune.h"

namespace forge::cli {

void register_finetune(CLI::App& app) {
  auto a = std::make_shared<finetune::FinetuneOptions>();
  auto quiet = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("finetune", "Fine-tune a pretrained model described by a TOML config (docs/finetuning.md)");
  cmd->add_option("config", a->config_path, "finetune config (.toml)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--out", a->out_dir, "run directory (default runs/<name>)");
  cmd->add_option("--epochs", a->epochs, "override the config's epochs")->check(CLI::PositiveNumber);
  cmd->add_option("--max-steps", a->max_steps, "stop after N optimizer steps")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", a->threads, "override the config's threads")->check(CLI::PositiveNumber);
  cmd->add_flag("--quiet,-q", *quiet, "no progress output, only the results");
  cmd->add_flag("--json", a->json, "progress and results as JSON lines on stdout");
  cmd->callback([a, quiet] {
    finetune::FinetuneOptions o = *a;
    if (!*quiet) {
      o.log = [](const std::string& line) {
        fmt::print("{}\n", line);
        std::fflush(stdout);  // progress must show when stdout is a file or a pipe
      };
    }
    const std::string type = finetune::finetune_model_type(o.config_path);
    const nlohmann::json m = type == "bert" ? finetune::run_classifier_finetune(o) : finetune::run_lora_finetune(o);
    if (a->json || *quiet) {
      std::cout << m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << std::endl;
    } else {
      fmt::print("run directory: {}\n", m.value("run_dir", std::string()));
    }
  });
}

}  // namespace forge::cli
