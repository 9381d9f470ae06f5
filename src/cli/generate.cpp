// `forge generate RUN_DIR|MODEL_DIR --prompt ...`: streams a completion to stdout.
#include <fmt/format.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"
#include "core/error.h"
#include "llm/generate.h"
#include "llm/load.h"

namespace forge::cli {

void register_generate(CLI::App& app) {
  struct Args {
    std::string path, prompt;
    int64_t max_tokens = 200;
    float temperature = 0.8f, top_p = 1.0f, min_p = 0.0f, repetition_penalty = 1.0f;
    int32_t top_k = 0;
    uint64_t seed = 0;
    std::vector<std::string> stop;
    bool stats = false, no_prompt = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("generate", "Generate text with a language model (streams to stdout)");
  cmd->add_option("path", a->path, "run dir (runs/<name>) or model dir")->required();
  cmd->add_option("--prompt,-p", a->prompt, "text to continue")->required();
  cmd->add_option("--max-tokens,-n", a->max_tokens, "new tokens at most")->capture_default_str();
  cmd->add_option("--temperature,-t", a->temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", a->top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
  cmd->add_option("--top-p", a->top_p, "nucleus sampling mass (1 = off)")->capture_default_str();
  cmd->add_option("--min-p", a->min_p, "drop tokens below min_p * p_max (0 = off)")->capture_default_str();
  cmd->add_option("--repetition-penalty", a->repetition_penalty, "llama.cpp rule (1 = off)")->capture_default_str();
  cmd->add_option("--seed", a->seed, "sampling seed")->capture_default_str();
  cmd->add_option("--stop", a->stop, "stop string (repeatable); not printed");
  cmd->add_flag("--no-prompt", a->no_prompt, "print only the completion, not the prompt");
  cmd->add_flag("--stats", a->stats, "print token counts and speeds to stderr");
  cmd->callback([a] {
    auto model = llm::load_causal_lm(a->path);
    auto tok = model->tokenizer();
    FORGE_CHECK(tok != nullptr, "[generate] {} has no tokenizer", a->path);
    const std::vector<int32_t> prompt = tok->encode(a->prompt, true);
    llm::GenerateOptions o;
    o.max_tokens = a->max_tokens;
    o.sampling = {.temperature = a->temperature,
                  .top_k = a->top_k,
                  .top_p = a->top_p,
                  .min_p = a->min_p,
                  .repetition_penalty = a->repetition_penalty,
                  .seed = a->seed};
    o.stop = a->stop;
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
