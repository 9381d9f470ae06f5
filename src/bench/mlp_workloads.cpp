// The MLP rows: 784-128-10 ReLU network, batch 64, SGD lr 0.01 on Fashion-MNIST, and its
// single-sample predict latency. Same model, data and rules as the PyTorch reference.
#include "autograd/grad_mode.h"
#include "bench/common.h"
#include "bench/workloads.h"
#include "core/random.h"
#include "nn/layers/core.h"
#include "optim/optimizers.h"

namespace forge::bench {

namespace {

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
  const double sps = train_epoch(*model, sgd, data.train_images, data.train_labels, 64, options);
  Result r = make_result(sps, "samples/s", true);
  r.extra["accuracy"] = accuracy(*model, data.test_images, data.test_labels);
  return r;
}

Result mlp_latency(const Options& options) {
  manual_seed(options.seed);
  auto model = make_mlp();
  model->eval();
  Tensor x = rand({1, 784});
  NoGradGuard no_grad;
  const double us = mean_us([&] { (*model)(x); }, 100, 20000);
  return make_result(us, "us", false);
}

}  // namespace

void register_mlp_workloads(Registry& registry) {
  registry.add({"mlp_train", "MLP 784-128-10, batch 64, SGD, Fashion-MNIST: training samples/s", mlp_train});
  registry.add({"mlp_latency", "MLP 784-128-10 single-sample predict (eval, no grad): microseconds", mlp_latency});
}

}  // namespace forge::bench
