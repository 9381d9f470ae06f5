#include "optim/schedule.h"

#include <cmath>
#include <numbers>

#include "core/error.h"
#include "optim/optimizer.h"

namespace forge {

namespace {
void check_lr(const char* op, const char* what, double lr) {
  FORGE_CHECK(std::isfinite(lr) && lr >= 0, "[{}] {} must be a non-negative number, got {}", op, what, lr);
}
void check_step(const char* op, int64_t step) {
  FORGE_CHECK(step >= 0, "[{}] step must be non-negative, got {}", op, step);
}
void check_warmup(const char* op, int64_t warmup, int64_t total) {
  FORGE_CHECK(warmup >= 0 && total > warmup, "[{}] needs 0 <= warmup < total, got warmup {} and total {}", op, warmup,
              total);
}
// 1 at progress 0 falling to 0 at progress 1 along a half cosine.
double half_cosine(double progress) { return 0.5 * (1.0 + std::cos(std::numbers::pi * progress)); }
}  // namespace

void LRSchedule::apply(Optimizer& optimizer, int64_t step) const { optimizer.set_lr(lr_at(step)); }

ConstantLR::ConstantLR(double lr) : lr_(lr) { check_lr("ConstantLR", "lr", lr); }
double ConstantLR::lr_at(int64_t step) const {
  check_step("ConstantLR", step);
  return lr_;
}

StepLR::StepLR(double base_lr, int64_t step_size, double gamma)
    : base_lr_(base_lr), step_size_(step_size), gamma_(gamma) {
  check_lr("StepLR", "base_lr", base_lr);
  FORGE_CHECK(step_size > 0, "[StepLR] step_size must be positive, got {}", step_size);
  FORGE_CHECK(gamma >= 0, "[StepLR] gamma must be non-negative, got {}", gamma);
}
double StepLR::lr_at(int64_t step) const {
  check_step("StepLR", step);
  return base_lr_ * std::pow(gamma_, static_cast<double>(step / step_size_));
}

ExponentialLR::ExponentialLR(double base_lr, double gamma) : base_lr_(base_lr), gamma_(gamma) {
  check_lr("ExponentialLR", "base_lr", base_lr);
  FORGE_CHECK(gamma >= 0, "[ExponentialLR] gamma must be non-negative, got {}", gamma);
}
double ExponentialLR::lr_at(int64_t step) const {
  check_step("ExponentialLR", step);
  return base_lr_ * std::pow(gamma_, static_cast<double>(step));
}

CosineLR::CosineLR(double base_lr, int64_t total_steps, double min_lr)
    : base_lr_(base_lr), total_steps_(total_steps), min_lr_(min_lr) {
  check_lr("CosineLR", "base_lr", base_lr);
  check_lr("CosineLR", "min_lr", min_lr);
  FORGE_CHECK(total_steps > 0, "[CosineLR] total_steps must be positive, got {}", total_steps);
}
double CosineLR::lr_at(int64_t step) const {
  check_step("CosineLR", step);
  if (step >= total_steps_) return min_lr_;
  return min_lr_ + (base_lr_ - min_lr_) * half_cosine(static_cast<double>(step) / static_cast<double>(total_steps_));
}

WarmupLinear::WarmupLinear(double base_lr, int64_t warmup, int64_t total, double min_lr)
    : base_lr_(base_lr), warmup_(warmup), total_(total), min_lr_(min_lr) {
  check_lr("WarmupLinear", "base_lr", base_lr);
  check_lr("WarmupLinear", "min_lr", min_lr);
  check_warmup("WarmupLinear", warmup, total);
}
double WarmupLinear::lr_at(int64_t step) const {
  check_step("WarmupLinear", step);
  if (step < warmup_) return base_lr_ * static_cast<double>(step) / static_cast<double>(warmup_);
  if (step >= total_) return min_lr_;
  const double remaining = static_cast<double>(total_ - step) / static_cast<double>(total_ - warmup_);
  return min_lr_ + (base_lr_ - min_lr_) * remaining;
}

WarmupCosine::WarmupCosine(double base_lr, int64_t warmup, int64_t total, double min_lr)
    : base_lr_(base_lr), warmup_(warmup), total_(total), min_lr_(min_lr) {
  check_lr("WarmupCosine", "base_lr", base_lr);
  check_lr("WarmupCosine", "min_lr", min_lr);
  check_warmup("WarmupCosine", warmup, total);
}
double WarmupCosine::lr_at(int64_t step) const {
  check_step("WarmupCosine", step);
  if (step < warmup_) return base_lr_ * static_cast<double>(step) / static_cast<double>(warmup_);
  if (step >= total_) return min_lr_;
  const double progress = static_cast<double>(step - warmup_) / static_cast<double>(total_ - warmup_);
  return min_lr_ + (base_lr_ - min_lr_) * half_cosine(progress);
}

}  // namespace forge
