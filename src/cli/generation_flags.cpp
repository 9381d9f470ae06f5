#include "cli/generation_flags.h"

namespace forge::cli {

void add_generation_flags(CLI::App* cmd, llm::GenerateOptions& o) {
  cmd->add_option("--max-tokens,-n", o.max_tokens, "new tokens at most")->capture_default_str();
  cmd->add_option("--temperature,-t", o.sampling.temperature, "0 = greedy")->capture_default_str();
  cmd->add_option("--top-k", o.sampling.top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
  cmd->add_option("--top-p", o.sampling.top_p, "nucleus sampling mass (1 = off)")->capture_default_str();
  cmd->add_option("--min-p", o.sampling.min_p, "drop tokens below min_p * p_max (0 = off)")->capture_default_str();
  cmd->add_option("--repetition-penalty,--repeat-penalty", o.sampling.repetition_penalty, "llama.cpp rule (1 = off)")
      ->capture_default_str();
  cmd->add_option("--seed", o.sampling.seed, "sampling seed")->capture_default_str();
  cmd->add_option("--stop", o.stop, "stop string (repeatable); the text ends before it");
}

}  // namespace forge::cli
