#pragma once
// Optimizer state files: a safetensors file whose tensors are Optimizer::state_tensors()
// ("<param name>.<slot>") and whose metadata holds the optimizer's name
// ("forge.optimizer") and its state scalars as JSON ("forge.optimizer.scalars").
#include <string>

#include "optim/optimizer.h"

namespace forge {

// Writes the state crash-safely.
void save_optimizer_state(const std::string& path, const Optimizer& optimizer);
// Restores state saved from an optimizer of the same kind over the same parameters; throws
// naming the file and the mismatch (kind, unknown/missing names, shapes) otherwise.
void load_optimizer_state(const std::string& path, Optimizer& optimizer);

}  // namespace forge
