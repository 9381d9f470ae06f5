#include "llm/load.h"

#include <filesystem>

#include "core/error.h"
#include "models/gpt.h"
#include "models/pretrained.h"

namespace forge::llm {

std::shared_ptr<CausalLM> load_causal_lm(const std::string& path) {
  namespace fs = std::filesystem;
  FORGE_CHECK(fs::exists(path), "[load_causal_lm] {}: no such file or directory", path);
  if (fs::is_directory(path)) {
    if (models::is_gpt_dir(path)) return models::load_gpt_dir(path);
    const std::string run_model = (fs::path(path) / "model").string();
    if (models::is_gpt_dir(run_model)) return models::load_gpt_dir(run_model);
  }
  // Pretrained checkpoints: a .gguf file or a Hugging Face directory (models/pretrained.h).
  if (models::is_pretrained_checkpoint(path)) return models::load_pretrained_lm(path);
  fail("[load_causal_lm] {}: not a language model (expected a Forge GPT model dir with config.json "
       "\"architecture\": \"forge-gpt\", a run dir holding one in model/, a .gguf file or a Hugging Face "
       "directory)",
       path);
}

}  // namespace forge::llm
