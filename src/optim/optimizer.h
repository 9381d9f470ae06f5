#pragma once
// Optimizer base: named parameters, per-parameter state tensors ("slots") and step counts,
// the learning rate, and checkpointable state. Subclasses (optim/optimizers.h) only define
// their slots and their fused per-parameter update.
//
// State naming for checkpoints: every state tensor is "<param name>.<slot>"
// (e.g. "fc1.weight.exp_avg"); scalars are "lr", "step_count" and "<param name>.step"
// (the per-parameter step, which, as in PyTorch, only advances when that parameter had a
// gradient).
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/tensor.h"

namespace forge {

// Parameters sharing option overrides, e.g. "no weight decay on biases and norms".
// Unset fields use the optimizer's options; lr_scale multiplies the optimizer's lr.
struct ParamGroup {
  NamedTensors params;
  std::optional<double> weight_decay;
  std::optional<double> lr_scale;
};

class Optimizer {
 public:
  // Parameters must be float32, contiguous, uniquely named and not repeated.
  explicit Optimizer(NamedTensors params);
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer();
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // "SGD", "Adam", ...: used in error messages and saved with the state.
  virtual const char* name() const = 0;
  // Updates every parameter that has a gradient (others are skipped), in place, no graph.
  virtual void step() = 0;
  // Drops the gradients of all parameters.
  void zero_grad();

  double lr() const { return lr_; }
  void set_lr(double lr);  // throws for negative or non-finite values
  int64_t step_count() const { return step_count_; }
  const NamedTensors& params() const { return params_; }

  // Checkpoint state. load_* validate names and shapes against this optimizer and throw
  // naming the offending entry; nothing is changed when they throw.
  virtual NamedTensors state_tensors() const;
  virtual void load_state_tensors(const NamedTensors& state);
  std::map<std::string, double> state_scalars() const;
  void load_state_scalars(const std::map<std::string, double>& scalars);

 protected:
  // Allocates one state tensor per parameter, filled with `initial`; returns the slot index.
  size_t add_slot(const std::string& slot, double initial = 0.0);
  float* slot_data(size_t param, size_t slot) const { return state_[param][slot].data<float>(); }
  // The effective per-parameter options.
  double lr_for(size_t param) const { return lr_ * lr_scale_[param]; }
  double weight_decay_for(size_t param, double fallback) const { return weight_decay_[param].value_or(fallback); }
  // Calls update(index, param_data, grad_data, numel, param_step) for each parameter with a
  // gradient, after advancing its step; then advances step_count. Runs without a graph.
  template <typename F>
  void for_each_grad(F&& update) {
    NoGradGuard no_grad;
    for (size_t i = 0; i < params_.size(); ++i) {
      const Tensor& p = params_[i].tensor;
      Tensor g = p.grad();
      if (!g.defined()) continue;
      if (g.dtype() != DType::kF32) g = g.to(DType::kF32);
      if (!g.is_contiguous()) g = g.contiguous();
      ++param_steps_[i];
      update(i, p.data<float>(), static_cast<const float*>(g.data<float>()), p.numel(), param_steps_[i]);
    }
    ++step_count_;
  }

 private:
  void init(std::vector<ParamGroup> groups);

  NamedTensors params_;
  std::vector<std::optional<double>> weight_decay_;
  std::vector<double> lr_scale_;
  std::vector<int64_t> param_steps_;
  std::vector<std::string> slot_names_;
  std::vector<std::vector<Tensor>> state_;  // [param][slot]
  double lr_ = 0;
  int64_t step_count_ = 0;
};

}  // namespace forge
