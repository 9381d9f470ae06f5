// The MLP rows: 784-128-10 ReLU network, batch 64, SGD lr 0.01 on Fashion-MNIST, and its
// single-sample predict latency. Same model, data and rules as the PyTorch reference.
#include <time.h>

#include <algorithm>
#include <vector>

#include "autograd/grad_mode.h"
#include "bench/common.h"
#include "bench/workloads.h"
#include "core/random.h"
#include "nn/layers/core.h"
#include "optim/optimizers.h"

namespace forge::bench {

namespace {

// CPU time of the calling thread: on a shared machine it leaves out the time the thread was
// descheduled, which wall-clock timers count.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::shared_ptr<nn::Sequential> make_mlp() {
  nn::DenseOptions hidden;
  hidden.activation = "relu";
  hidden.input_dim = 784;
  nn::DenseOptions out;
  out.input_dim = 128;
  return std::make_shared<nn::Sequential>(
      std::initializer_list<nn::ModulePtr>{std::make_shared<nn::Dense>(128, hidden), std::make_shared<nn::Dense>(10, out)});
}

Result mlp_train(const Options& options) {
  const FashionMnist& data = fashion_mnist();
  manual_seed(options.seed);
  auto model = make_mlp();
  SGDOptions sgd_options;
  sgd_options.lr = 0.01;
  SGD sgd(model->named_parameters(), sgd_options);
  const double cpu0 = thread_cpu_seconds();
  const double sps = train_epoch(*model, sgd, data.train_images, data.train_labels, 64, options);
  const double cpu = thread_cpu_seconds() - cpu0;
  Result r = make_result(sps, "samples/s", true);
  // Samples per second of this thread's CPU time (robust to a loaded machine at 1 thread;
  // with more threads the others' time is not counted).
  const int64_t n = options.samples > 0 ? std::min<int64_t>(options.samples, data.train_images.shape()[0])
                                        : data.train_images.shape()[0];
  r.extra["samples_per_cpu_s"] = static_cast<double>(n / 64 * 64) / cpu;
  r.extra["accuracy"] = accuracy(*model, data.test_images, data.test_labels);
  return r;
}

Result mlp_latency(const Options& options) {
  manual_seed(options.seed);
  auto model = make_mlp();
  model->eval();
  Tensor x = rand({1, 784});
  NoGradGuard no_grad;
  const double cpu0 = thread_cpu_seconds();
  const double us = mean_us([&] { (*model)(x); }, 100, 20000);
  const double cpu_us = (thread_cpu_seconds() - cpu0) / 20100 * 1e6;
  // The fastest block of 200 calls: the figure least disturbed by other processes.
  std::vector<double> blocks;
  for (int b = 0; b < 50; ++b) blocks.push_back(mean_us([&] { (*model)(x); }, 0, 200));
  Result r = make_result(us, "us", false);
  r.extra["cpu_us"] = cpu_us;
  r.extra["best_block_us"] = *std::min_element(blocks.begin(), blocks.end());
  return r;
}

}  // namespace

void register_mlp_workloads(Registry& registry) {
  registry.add({"mlp_train", "MLP 784-128-10, batch 64, SGD, Fashion-MNIST: training samples/s", mlp_train});
  registry.add({"mlp_latency", "MLP 784-128-10 single-sample predict (eval, no grad): microseconds", mlp_latency});
}

}  // namespace forge::bench
