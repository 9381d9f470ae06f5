#include "optim/optimizers.h"

#include <cmath>

#include "backend/cpu/optim.h"

namespace forge {

namespace {
void check_nonnegative(const char* op, const char* what, double value) {
  FORGE_CHECK(std::isfinite(value) && value >= 0, "[{}] {} must be a non-negative number, got {}", op, what, value);
}
void check_beta(const char* op, const char* what, double value) {
  FORGE_CHECK(value >= 0 && value < 1, "[{}] {} must be in [0, 1), got {}", op, what, value);
}
float f(double v) { return static_cast<float>(v); }
}  // namespace

// ---------------------------------------------------------------- SGD

SGD::SGD(NamedTensors params, SGDOptions opts) : Optimizer(std::move(params)), opts_(opts) { setup(); }
SGD::SGD(std::vector<ParamGroup> groups, SGDOptions opts) : Optimizer(std::move(groups)), opts_(opts) { setup(); }

void SGD::setup() {
  set_lr(opts_.lr);
  check_nonnegative("SGD", "momentum", opts_.momentum);
  check_nonnegative("SGD", "weight_decay", opts_.weight_decay);
  FORGE_CHECK(!opts_.nesterov || (opts_.momentum > 0 && opts_.dampening == 0),
              "[SGD] nesterov needs momentum > 0 and dampening 0, got momentum {} and dampening {}", opts_.momentum,
              opts_.dampening);
  if (opts_.momentum != 0) add_slot("momentum_buffer");
}

void SGD::step() {
  const bool has_buf = opts_.momentum != 0;
  for_each_grad([&](size_t i, float* p, const float* g, int64_t n, int64_t t) {
    cpu::SgdCoeffs c;
    c.lr = f(lr_for(i));
    c.weight_decay = f(weight_decay_for(i, opts_.weight_decay));
    c.momentum = f(opts_.momentum);
    c.dampening = f(opts_.dampening);
    c.nesterov = opts_.nesterov;
    c.first = t == 1;
    cpu::sgd_update(p, g, has_buf ? slot_data(i, 0) : nullptr, n, c);
  });
}

// ---------------------------------------------------------------- Adam / AdamW

namespace {
void check_adam(const char* op, double beta1, double beta2, double eps, double weight_decay) {
  check_beta(op, "beta1", beta1);
  check_beta(op, "beta2", beta2);
  check_nonnegative(op, "eps", eps);
  check_nonnegative(op, "weight_decay", weight_decay);
}

cpu::AdamCoeffs adam_coeffs(double lr, double beta1, double beta2, double eps, int64_t t) {
  cpu::AdamCoeffs c;
  const double bias_correction1 = 1.0 - std::pow(beta1, static_cast<double>(t));
  const double bias_correction2 = 1.0 - std::pow(beta2, static_cast<double>(t));
  c.step_size = f(lr / bias_correction1);
  c.beta1 = f(beta1);
  c.beta2 = f(beta2);
  c.bias_correction2_sqrt = f(std::sqrt(bias_correction2));
  c.eps = f(eps);
  return c;
}
}  // namespace

Adam::Adam(NamedTensors params, AdamOptions opts) : Optimizer(std::move(params)), opts_(opts) { setup(); }
Adam::Adam(std::vector<ParamGroup> groups, AdamOptions opts) : Optimizer(std::move(groups)), opts_(opts) { setup(); }

void Adam::setup() {
  set_lr(opts_.lr);
  check_adam("Adam", opts_.beta1, opts_.beta2, opts_.eps, opts_.weight_decay);
  add_slot("exp_avg");
  add_slot("exp_avg_sq");
  if (opts_.amsgrad) add_slot("max_exp_avg_sq");
}

void Adam::step() {
  for_each_grad([&](size_t i, float* p, const float* g, int64_t n, int64_t t) {
    cpu::AdamCoeffs c = adam_coeffs(lr_for(i), opts_.beta1, opts_.beta2, opts_.eps, t);
    c.l2 = f(weight_decay_for(i, opts_.weight_decay));
    cpu::adam_update(p, g, slot_data(i, 0), slot_data(i, 1), opts_.amsgrad ? slot_data(i, 2) : nullptr, n, c);
  });
}

AdamW::AdamW(NamedTensors params, AdamWOptions opts) : Optimizer(std::move(params)), opts_(opts) { setup(); }
AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions opts) : Optimizer(std::move(groups)), opts_(opts) { setup(); }

void AdamW::setup() {
  set_lr(opts_.lr);
  check_adam("AdamW", opts_.beta1, opts_.beta2, opts_.eps, opts_.weight_decay);
  add_slot("exp_avg");
  add_slot("exp_avg_sq");
  if (opts_.amsgrad) add_slot("max_exp_avg_sq");
}

void AdamW::step() {
  for_each_grad([&](size_t i, float* p, const float* g, int64_t n, int64_t t) {
    const double lr = lr_for(i);
    cpu::AdamCoeffs c = adam_coeffs(lr, opts_.beta1, opts_.beta2, opts_.eps, t);
    c.decay = f(1.0 - lr * weight_decay_for(i, opts_.weight_decay));
    cpu::adam_update(p, g, slot_data(i, 0), slot_data(i, 1), opts_.amsgrad ? slot_data(i, 2) : nullptr, n, c);
  });
}

// ---------------------------------------------------------------- RMSprop

RMSprop::RMSprop(NamedTensors params, RMSpropOptions opts) : Optimizer(std::move(params)), opts_(opts) { setup(); }
RMSprop::RMSprop(std::vector<ParamGroup> groups, RMSpropOptions opts) : Optimizer(std::move(groups)), opts_(opts) {
  setup();
}

void RMSprop::setup() {
  set_lr(opts_.lr);
  check_nonnegative("RMSprop", "alpha", opts_.alpha);
  check_nonnegative("RMSprop", "eps", opts_.eps);
  check_nonnegative("RMSprop", "momentum", opts_.momentum);
  check_nonnegative("RMSprop", "weight_decay", opts_.weight_decay);
  add_slot("square_avg");
  if (opts_.momentum > 0) add_slot("momentum_buffer");
  if (opts_.centered) add_slot("grad_avg");
}

void RMSprop::step() {
  const bool has_buf = opts_.momentum > 0;
  const size_t grad_avg_slot = has_buf ? 2 : 1;
  for_each_grad([&](size_t i, float* p, const float* g, int64_t n, int64_t /*t*/) {
    cpu::RmspropCoeffs c;
    c.lr = f(lr_for(i));
    c.alpha = f(opts_.alpha);
    c.eps = f(opts_.eps);
    c.weight_decay = f(weight_decay_for(i, opts_.weight_decay));
    c.momentum = f(opts_.momentum);
    cpu::rmsprop_update(p, g, slot_data(i, 0), opts_.centered ? slot_data(i, grad_avg_slot) : nullptr,
                        has_buf ? slot_data(i, 1) : nullptr, n, c);
  });
}

// ---------------------------------------------------------------- Adagrad

Adagrad::Adagrad(NamedTensors params, AdagradOptions opts) : Optimizer(std::move(params)), opts_(opts) { setup(); }
Adagrad::Adagrad(std::vector<ParamGroup> groups, AdagradOptions opts) : Optimizer(std::move(groups)), opts_(opts) {
  setup();
}

void Adagrad::setup() {
  set_lr(opts_.lr);
  check_nonnegative("Adagrad", "lr_decay", opts_.lr_decay);
  check_nonnegative("Adagrad", "initial_accumulator_value", opts_.initial_accumulator_value);
  check_nonnegative("Adagrad", "eps", opts_.eps);
  check_nonnegative("Adagrad", "weight_decay", opts_.weight_decay);
  add_slot("sum", opts_.initial_accumulator_value);
}

void Adagrad::step() {
  for_each_grad([&](size_t i, float* p, const float* g, int64_t n, int64_t t) {
    cpu::AdagradCoeffs c;
    c.clr = f(lr_for(i) / (1.0 + static_cast<double>(t - 1) * opts_.lr_decay));
    c.eps = f(opts_.eps);
    c.weight_decay = f(weight_decay_for(i, opts_.weight_decay));
    cpu::adagrad_update(p, g, slot_data(i, 0), n, c);
  });
}

}  // namespace forge
