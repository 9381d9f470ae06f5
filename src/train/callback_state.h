#pragma once
// Saving and restoring callback states with checkpoints (Model::save_checkpoint /
// load_checkpoint / fit). Internal to src/train.
#include <nlohmann/json.hpp>

#include <vector>

#include "core/tensor.h"
#include "train/model.h"

namespace forge::train {

// {"EarlyStopping": {...}, "ReduceLROnPlateau": {...}, "ModelCheckpoint#2": {...}}: one entry
// per stateful callback, keyed by state_name() with "#n" for the n-th (n >= 2) of a name.
// Tensors are appended to *tensors as "<key>/<tensor name>".
nlohmann::json callback_states(const std::vector<CallbackPtr>& callbacks, NamedTensors* tensors);

// Hands each stateful callback the entry saved under its key (absent entries leave it fresh).
// Throws "[load_checkpoint] callback KEY: ..." for a corrupt entry.
void restore_callback_states(const std::vector<CallbackPtr>& callbacks, const nlohmann::json& states,
                             const NamedTensors& tensors);

}  // namespace forge::train
