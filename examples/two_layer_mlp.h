#pragma once
// The check behind examples/two_layer_mlp.cpp (and tests/examples/): the seeds' two-layer network
// trained for a few SGD steps twice from identical weights, once through autograd and once with
// the hand-written backward pass, comparing every gradient and loss along the way.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ostream>
#include <string>
#include <vector>

#include "forge.h"
#include "models/two_layer_mlp.h"
#include "nn/loss.h"

namespace forge::example {

// max|a - b| / max|b| (0 when both are all zeros).
inline double relative_difference(const Tensor& a, const Tensor& b) {
  const double diff = max(abs(a - b)).item();
  const double scale = max(abs(b)).item();
  return scale > 0 ? diff / scale : diff;
}

// A deterministic stand-in for a Fashion-MNIST batch: pixels U(0, 1), labels uniform in 0..9.
inline void synthetic_batch(int64_t batch, uint64_t seed, Tensor& x, Tensor& labels) {
  Generator gen(seed);
  x = rand({batch, 784}, 0.0, 1.0, &gen);
  labels = randint(0, 10, {batch}, &gen);
}

struct GradientComparison {
  std::vector<double> losses_autograd, losses_manual;
  double worst_relative = 0;  // over all gradients, losses and steps
};

// Runs `steps` SGD steps on (x, labels) from `start` with both backward passes, logging one line
// per gradient and step to `log`.
inline GradientComparison compare_autograd_and_manual(const models::TwoLayerMlp& start, const Tensor& x,
                                                      const Tensor& labels, int steps, double lr, std::ostream& log) {
  const char* names[] = {"w1", "b1", "w2", "b2"};
  models::TwoLayerMlp with_tape = start.clone();
  models::TwoLayerMlp by_hand = start.clone();
  GradientComparison result;
  for (int step = 0; step < steps; ++step) {
    // (a) autograd: forward records the tape, backward() fills .grad of each parameter.
    for (const Tensor& p : with_tape.parameters()) p.zero_grad();
    const Tensor loss = sparse_categorical_cross_entropy_with_logits(with_tape.forward(x), labels);
    loss.backward();
    Tensors auto_grads;
    for (const Tensor& p : with_tape.parameters()) auto_grads.push_back(p.grad());
    // (b) by hand: explicit forward, softmax and matmul backward.
    const models::MlpGradients manual = models::manual_gradients(by_hand, x, labels);

    result.losses_autograd.push_back(loss.item());
    result.losses_manual.push_back(manual.loss);
    const double loss_rel = std::abs(loss.item() - manual.loss) / std::max(std::abs(manual.loss), 1e-30);
    result.worst_relative = std::max(result.worst_relative, loss_rel);
    log << fmt::format("step {}: loss autograd {:.6f}  by hand {:.6f}\n", step, loss.item(), manual.loss);
    const Tensors manual_grads = manual.list();
    for (size_t i = 0; i < manual_grads.size(); ++i) {
      const double abs_diff = max(abs(auto_grads[i] - manual_grads[i])).item();
      const double rel = relative_difference(auto_grads[i], manual_grads[i]);
      result.worst_relative = std::max(result.worst_relative, rel);
      log << fmt::format("  d{:<2} {:<10} max|autograd - by hand| = {:.3e}  (relative {:.3e})\n", names[i],
                         shape_str(manual_grads[i]), abs_diff, rel);
    }
    models::sgd_update(with_tape, auto_grads, lr);
    models::sgd_update(by_hand, manual_grads, lr);
  }
  return result;
}

}  // namespace forge::example
