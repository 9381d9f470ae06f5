#pragma once
// Learning-rate schedules: pure functions of the step (0-based, the number of optimizer
// steps taken so far), so resuming from a checkpoint only needs the step count.
#include <cstdint>

namespace forge {

class Optimizer;

class LRSchedule {
 public:
  virtual ~LRSchedule() = default;
  virtual double lr_at(int64_t step) const = 0;
  // Sets the optimizer's learning rate to lr_at(step).
  void apply(Optimizer& optimizer, int64_t step) const;
};

// lr at every step.
class ConstantLR : public LRSchedule {
 public:
  explicit ConstantLR(double lr);
  double lr_at(int64_t step) const override;

 private:
  double lr_;
};

// base_lr * gamma^floor(step / step_size) (torch.optim.lr_scheduler.StepLR).
class StepLR : public LRSchedule {
 public:
  StepLR(double base_lr, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t step) const override;

 private:
  double base_lr_;
  int64_t step_size_;
  double gamma_;
};

// base_lr * gamma^step (torch.optim.lr_scheduler.ExponentialLR).
class ExponentialLR : public LRSchedule {
 public:
  ExponentialLR(double base_lr, double gamma);
  double lr_at(int64_t step) const override;

 private:
  double base_lr_;
  double gamma_;
};

// min_lr + (base_lr - min_lr) * (1 + cos(pi * step / total_steps)) / 2 for step <= total_steps
// (torch's CosineAnnealingLR closed form with T_max = total_steps), then min_lr.
class CosineLR : public LRSchedule {
 public:
  CosineLR(double base_lr, int64_t total_steps, double min_lr = 0.0);
  double lr_at(int64_t step) const override;

 private:
  double base_lr_;
  int64_t total_steps_;
  double min_lr_;
};

// Linear warmup from 0 to base_lr over `warmup` steps (lr = base_lr * step / warmup), then
// linear decay to min_lr at `total` steps, then min_lr (Hugging Face's
// get_linear_schedule_with_warmup when min_lr = 0).
class WarmupLinear : public LRSchedule {
 public:
  WarmupLinear(double base_lr, int64_t warmup, int64_t total, double min_lr = 0.0);
  double lr_at(int64_t step) const override;

 private:
  double base_lr_;
  int64_t warmup_;
  int64_t total_;
  double min_lr_;
};

// The same warmup, then a half cosine from base_lr to min_lr at `total` steps, then min_lr
// (Hugging Face's get_cosine_schedule_with_warmup when min_lr = 0).
class WarmupCosine : public LRSchedule {
 public:
  WarmupCosine(double base_lr, int64_t warmup, int64_t total, double min_lr = 0.0);
  double lr_at(int64_t step) const override;

 private:
  double base_lr_;
  int64_t warmup_;
  int64_t total_;
  double min_lr_;
};

}  // namespace forge
