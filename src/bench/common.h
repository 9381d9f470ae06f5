#pragma once
// Helpers shared by the workload files: a cached Fashion-MNIST, the PyTorch-style training
// epoch timer and a latency loop.
#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>

#include "bench/bench.h"
#include "core/tensor.h"
#include "data/fashion_mnist.h"
#include "nn/module.h"
#include "optim/optimizer.h"

namespace forge::bench {

// Loaded once per process (not timed).
const FashionMnist& fashion_mnist();

// CPU seconds used by the whole process so far (all threads): for A/B comparisons on a shared
// machine, where wall-clock time includes waiting for a core.
inline double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// One epoch with the reference's rules (bench/reference/torch_workloads.py train_epoch):
// a fresh permutation, batches gathered by index, zero_grad / forward / loss / backward / step,
// the clock around the whole loop. Trains on the first options.samples of the permutation
// (all when 0). Returns samples per second.
double train_epoch(nn::Module& model, Optimizer& optimizer, const Tensor& x, const Tensor& y, int64_t batch,
                   const Options& options);

// Test-set accuracy (eval mode, no grad, batches of 1000).
double accuracy(nn::Module& model, const Tensor& x, const Tensor& y);

// Mean microseconds of fn over `iterations` calls after `warmup` calls.
double mean_us(const std::function<void()>& fn, int warmup, int iterations);

}  // namespace forge::bench
