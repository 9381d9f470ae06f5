#pragma once
// The pieces Model::compile builds from names and JSON: optimizers, LR schedules and losses.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "optim/optimizer.h"
#include "optim/schedule.h"

namespace forge::train {

// {"name": "sgd"|"adam"|"adamw"|"rmsprop"|"adagrad", "lr": .., plus that optimizer's options:
//  sgd: momentum, dampening, nesterov, weight_decay; adam/adamw: beta1, beta2, eps,
//  weight_decay, amsgrad; rmsprop: alpha (also "rho"), eps, momentum, centered, weight_decay;
//  adagrad: lr_decay, initial_accumulator_value, eps, weight_decay}. "learning_rate" is an
// alias of "lr". Unknown names or keys throw, listing the valid ones.
std::shared_ptr<Optimizer> make_optimizer(const nlohmann::json& spec, NamedTensors params);

// Per-step LR schedules from {"name": ..., options}; base_lr is the optimizer's lr:
//   constant {}; step {step_size, gamma = 0.1}; exponential {gamma}; cosine {total_steps,
//   min_lr = 0}; warmup_linear / warmup_cosine {warmup, total_steps, min_lr = 0}.
// A null or empty spec gives null (no schedule).
std::shared_ptr<LRSchedule> make_schedule(const nlohmann::json& spec, double base_lr);

// Loss names accepted by compile (Keras names, plus "_from_logits" variants of the cross
// entropies).
std::vector<std::string> loss_names();
void check_loss_name(const std::string& name);

// The unreduced loss per sample [N] for `name` (targets are converted as the loss needs:
// class ids to int64 for the sparse losses, floats reshaped to pred's shape otherwise).
Tensor per_sample_loss(const std::string& name, const Tensor& pred, const Tensor& target);

}  // namespace forge::train
