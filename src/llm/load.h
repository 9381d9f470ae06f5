#pragma once
// One entry point that opens whatever causal language model a path holds. Today: Forge GPT
// model dirs (config.json with "architecture": "forge-gpt") and run dirs holding one in model/.
// Other formats (GGUF files, Hugging Face dirs) are added here as further cases.
#include <memory>
#include <string>

#include "llm/causal_lm.h"

namespace forge::llm {

// Throws "[load_causal_lm] PATH: ..." naming what was expected when nothing matches.
std::shared_ptr<CausalLM> load_causal_lm(const std::string& path);

}  // namespace forge::llm
