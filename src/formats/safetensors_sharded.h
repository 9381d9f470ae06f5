#pragma once
// Hugging Face checkpoints: one model.safetensors, or shards listed in
// model.safetensors.index.json ({"metadata": {...}, "weight_map": {tensor: shard file}}).
#include <string>
#include <vector>

#include "formats/safetensors.h"

namespace forge {

// `path` is a directory (model.safetensors.index.json preferred over model.safetensors), an
// index .json file, or a single .safetensors file. All shards are mapped and validated; every
// weight_map entry must exist in its shard, no tensor may appear in two shards, shard names must
// stay inside the directory. Tensors are zero-copy views; `metadata` merges the shards'
// __metadata__ and the index's string-valued metadata.
SafetensorsFile load_safetensors_checkpoint(const std::string& path);

// The shard files a checkpoint path resolves to (for `forge inspect` and error messages).
std::vector<std::string> safetensors_checkpoint_files(const std::string& path);

}  // namespace forge
