#pragma once
// SGD, Adam, AdamW, RMSprop, Adagrad with PyTorch 1.13 semantics (torch/optim/*.py), each a
// fused per-parameter update (backend/cpu/optim.h). Every optimizer takes either a flat list
// of named parameters or ParamGroups (per-group weight_decay / lr_scale overrides).
// State slot names match PyTorch's state dict keys.
#include "optim/optimizer.h"

namespace forge {

// slots: momentum_buffer (when momentum != 0). nesterov needs momentum > 0 and dampening 0.
struct SGDOptions {
  double lr = 0.01;
  double momentum = 0;
  double dampening = 0;
  bool nesterov = false;
  double weight_decay = 0;
};
// Adam: weight_decay is L2 added to the gradient. slots: exp_avg, exp_avg_sq (+ max_exp_avg_sq).
struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
};
// AdamW: decoupled weight decay (param *= 1 - lr * weight_decay before the Adam update).
struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.01;
  bool amsgrad = false;
};
// slots: square_avg (+ momentum_buffer when momentum > 0, grad_avg when centered).
struct RMSpropOptions {
  double lr = 0.01;
  double alpha = 0.99;
  double eps = 1e-8;
  double momentum = 0;
  bool centered = false;
  double weight_decay = 0;
};
// slots: sum (starts at initial_accumulator_value).
struct AdagradOptions {
  double lr = 0.01;
  double lr_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  double weight_decay = 0;
};

class SGD : public Optimizer {
 public:
  SGD(NamedTensors params, SGDOptions opts = {});
  SGD(std::vector<ParamGroup> groups, SGDOptions opts = {});
  const char* name() const override { return "SGD"; }
  void step() override;
  const SGDOptions& options() const { return opts_; }

 private:
  void setup();
  SGDOptions opts_;
};

class Adam : public Optimizer {
 public:
  Adam(NamedTensors params, AdamOptions opts = {});
  Adam(std::vector<ParamGroup> groups, AdamOptions opts = {});
  const char* name() const override { return "Adam"; }
  void step() override;
  const AdamOptions& options() const { return opts_; }

 private:
  void setup();
  AdamOptions opts_;
};

class AdamW : public Optimizer {
 public:
  AdamW(NamedTensors params, AdamWOptions opts = {});
  AdamW(std::vector<ParamGroup> groups, AdamWOptions opts = {});
  const char* name() const override { return "AdamW"; }
  void step() override;
  const AdamWOptions& options() const { return opts_; }

 private:
  void setup();
  AdamWOptions opts_;
};

class RMSprop : public Optimizer {
 public:
  RMSprop(NamedTensors params, RMSpropOptions opts = {});
  RMSprop(std::vector<ParamGroup> groups, RMSpropOptions opts = {});
  const char* name() const override { return "RMSprop"; }
  void step() override;
  const RMSpropOptions& options() const { return opts_; }

 private:
  void setup();
  RMSpropOptions opts_;
};

class Adagrad : public Optimizer {
 public:
  Adagrad(NamedTensors params, AdagradOptions opts = {});
  Adagrad(std::vector<ParamGroup> groups, AdagradOptions opts = {});
  const char* name() const override { return "Adagrad"; }
  void step() override;
  const AdagradOptions& options() const { return opts_; }

 private:
  void setup();
  AdagradOptions opts_;
};

}  // namespace forge
