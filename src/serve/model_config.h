#pragma once
// What `forge serve` loads: models from `--model NAME=PATH` flags and/or a TOML file.
//
//   [server]                        # every key optional; flags given on the command line win
//   host = "127.0.0.1"
//   port = 8080
//   keys = "forge-keys.db"          # keys + usage ledger: SQLite file or postgresql:// URL ("" = no keys)
//   cert = "cert.pem"               # TLS when cert and key are set
//   key = "key.pem"
//   slots = 4                       # parallel sequences per language model
//   prefill_budget = 256            # prompt tokens per engine step
//   max_queue = 64
//   request_timeout = 600           # seconds
//   max_body_bytes = 8388608
//   metrics_require_key = false
//
//   [[models]]
//   name = "smol"
//   path = "models/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"
//   kind = "llm"                    # llm | embedding | predict | noop; default: detected from the path
#include <string>
#include <vector>

#include "serve/server.h"

namespace forge::serve {

struct ModelSpec {
  std::string name, path;
  std::string kind;  // "llm", "embedding", "predict", "noop" (benchmarks; path unused); "" = detect
  std::string lora;  // LoRA adapter dir (PEFT format or a finetune run dir) merged at load; Llama LLMs only
};

// "NAME=PATH" or "NAME=KIND:PATH".
ModelSpec parse_model_flag(const std::string& flag);
// "NAME=ADAPTER_DIR" (--lora): sets the adapter of the model called NAME in `models`.
void apply_lora_flag(const std::string& flag, std::vector<ModelSpec>& models);
// Reads a serve TOML file into `options` and `models` (appends). Errors name the file and key.
void read_serve_config(const std::string& path, ServeOptions& options, std::vector<ModelSpec>& models);
// "predict" for a Forge-trained model dir (model.json), "embedding" for a BERT-family dir,
// "llm" for GGUF files, Forge GPT dirs and Hugging Face causal-LM dirs.
std::string detect_model_kind(const std::string& path);
// Loads the model and adds it to the server under spec.name.
void load_model(Server& server, const ModelSpec& spec);

}  // namespace forge::serve
