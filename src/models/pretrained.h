#pragma once
// Opening pretrained checkpoints by path: a .gguf file or a Hugging Face directory
// (config.json + safetensors). llm::load_causal_lm and the CLI (`forge generate/chat/embed`)
// dispatch here for everything that is not a Forge-trained model.
#include <string>

#include "llm/causal_lm.h"
#include "llm/embedding_model.h"

namespace forge::models {

// True when `path` is a GGUF file or a directory with a Hugging Face config.json.
bool is_pretrained_checkpoint(const std::string& path);
// A GGUF file (architecture "llama") or a Hugging Face directory (model_type llama, mistral or
// gpt2). Errors name the path and the architecture found.
llm::CausalLMPtr load_pretrained_lm(const std::string& path);
// A Hugging Face / sentence-transformers directory with model_type "bert".
llm::EmbeddingModelPtr load_embedding_model(const std::string& path);

}  // namespace forge::models
