#pragma once
// `forge finetune CONFIG.toml`: fine-tunes a pretrained checkpoint described by a TOML config.
// The config's [model] type picks the recipe:
//   "bert"  - an encoder (e.g. all-MiniLM-L6-v2) plus a classification head on a labelled text
//             data set (classifier.cpp);
//   "llama" - LoRA adapters on a Llama-family causal LM trained on an instruction set (lora.cpp).
// Both write a run directory (metrics.json, history.csv, the trained weights) and report progress
// through FinetuneOptions::log. docs/finetuning.md has the config schema.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>

namespace forge::finetune {

struct FinetuneOptions {
  std::string config_path;
  std::string out_dir;     // "" = runs/<name>
  int64_t epochs = 0;      // > 0 overrides the config
  int64_t max_steps = 0;   // > 0: stop after this many optimizer steps (smoke runs, tests)
  int threads = 0;         // > 0 overrides the config
  bool json = false;       // progress as JSON lines
  std::function<void(const std::string&)> log;  // progress lines; empty = quiet
};

// Both return the metrics also written to <run dir>/metrics.json (always with "run_dir").
nlohmann::json run_classifier_finetune(const FinetuneOptions& options);
nlohmann::json run_lora_finetune(const FinetuneOptions& options);

// The [model] type of a finetune config ("bert" or "llama"); errors name the file and line.
std::string finetune_model_type(const std::string& config_path);

}  // namespace forge::finetune
