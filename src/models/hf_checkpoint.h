#pragma once
// A Hugging Face model directory: config.json, weights in model.safetensors or sharded through
// model.safetensors.index.json (all memory-mapped), and tokenizer_config.json's chat template.
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/tensor.h"

namespace forge::models {

struct HfCheckpoint {
  std::string dir;
  nlohmann::json config;
  std::map<std::string, Tensor> tensors;  // views of the mapped shard files
  std::optional<std::string> chat_template;

  bool has(const std::string& name) const { return tensors.count(name) != 0; }
  const Tensor& at(const std::string& name) const;  // throws naming the directory and tensor
};

// Throws "[hf] DIR: ..." when config.json or the weights are missing or malformed.
HfCheckpoint load_hf_checkpoint(const std::string& dir);
// True when `dir` is a directory with a config.json.
bool is_hf_dir(const std::string& dir);
// config[key] as a positive integer; throws naming the directory and key.
int64_t hf_int(const HfCheckpoint& ckpt, const std::string& key);

}  // namespace forge::models
