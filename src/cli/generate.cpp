// `forge generate RUN_DIR|MODEL_DIR --prompt ...`: streams a completion to stdout.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "llm/generate.h"
#include "llm/load.h"
#include "models/lora.h"

namespace forge::cli {

void register_generate(CLI::App& app) {
  struct Args {
    std::string path, prompt, lora;
    llm::GenerateOptions gen;
    bool stats = false, no_prompt = false;
  };
  auto a = std::make_shared<Args>();
  a->gen.max_tokens = 200;
  a->gen.sampling.temperature = 0.8f;
  auto* cmd = app.add_subcommand("generate", "Generate text with a language model (streams to stdout)");
  cmd->add_option("path", a->path, "run dir (runs/<name>) or model dir")->required();
  cmd->add_option("--prompt,-p", a->prompt, "text to continue")->required();
  cmd->add_option("--lora", a->lora, "LoRA adapter dir (PEFT format, or a finetune run dir) merged at load");
  add_generation_flags(cmd, a->gen);
  cmd->add_flag("--no-prompt", a->no_prompt, "print only the completion, not the prompt");
  cmd->add_flag("--stats", a->stats, "print token counts and speeds to stderr");
  cmd->callback([a] {
    auto model = a->lora.empty() ? llm::load_causal_lm(a->path) : models::load_llama_with_lora(a->path, a->lora);
    auto tok = model->tokenizer();
    FORGE_CHECK(tok != nullptr, "[generate] {} has no tokenizer", a->path);
    const std::vector<int32_t> prompt = tok->encode(a->prompt, true);
    const llm::GenerateOptions& o = a->gen;
    if (!a->no_prompt) std::fwrite(a->prompt.data(), 1, a->prompt.size(), stdout);
    std::fflush(stdout);
    auto r = llm::generate(*model, prompt, o, [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    });
    std::fputs("\n", stdout);
    std::fflush(stdout);
    if (a->stats) {
      fmt::print(stderr, "prompt {} tokens in {:.3f} s, {} new tokens in {:.3f} s ({:.1f} tokens/s), finish: {}\n",
                 r.prompt_tokens, r.prefill_seconds, r.completion_tokens, r.decode_seconds,
                 r.decode_seconds > 0 ? static_cast<double>(r.completion_tokens) / r.decode_seconds : 0.0,
                 r.finish_reason);
    }
  });
}

}  // namespace forge::cli
