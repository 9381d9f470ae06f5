// The seed CNN rows (branch perfcnn owns the conv engine work; these only measure):
// 32-64-64 3x3 convs + dense 64, batch 64, Adam 1e-3 on Fashion-MNIST; its batch-1 predict
// latency; and the peak resident memory during a training epoch.
#include "autograd/grad_mode.h"
#include "bench/common.h"
#include "bench/workloads.h"
#include "core/random.h"
#include "nn/layers/conv.h"
#include "nn/layers/core.h"
#include "nn/layers/pool.h"
#include "optim/optimizers.h"

namespace forge::bench {

namespace {

std::shared_ptr<nn::Sequential> make_cnn() {
  auto conv = [](int64_t filters, int64_t in_channels) {
    nn::Conv2DOptions o;
    o.activation = "relu";
    o.in_channels = in_channels;
    return std::make_shared<nn::Conv2D>(filters, 3, o);
  };
  auto dense = [](int64_t units, int64_t in, const char* activation) {
    nn::DenseOptions o;
    o.activation = activation;
    o.input_dim = in;
    return std::make_shared<nn::Dense>(units, o);
  };
  return std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
      conv(32, 1), std::make_shared<nn::MaxPooling2D>(), conv(64, 32), std::make_shared<nn::MaxPooling2D>(),
      conv(64, 64), std::make_shared<nn::Flatten>(), dense(64, 64 * 3 * 3, "relu"), dense(10, 64, "linear")});
}


Result cnn_train_impl(const Options& options, bool measure_rss) {
  const FashionMnist& data = fashion_mnist();
  Tensor x = data.train_images.reshape({-1, 1, 28, 28});
  manual_seed(options.seed);
  auto model = make_cnn();
  AdamOptions adam_options;
  adam_options.lr = 1e-3;
  Adam adam(model->named_parameters(), adam_options);
  const int64_t rss_before = current_rss_bytes();
  if (measure_rss) reset_peak_rss();
  const double sps = train_epoch(*model, adam, x, data.train_labels, 64, options);
  const int64_t peak = peak_rss_bytes();
  Result r;
  if (measure_rss) {
    r = make_result(static_cast<double>(peak) / (1 << 20), "MiB", false);
    r.extra["epoch_growth_mib"] = static_cast<double>(peak - rss_before) / (1 << 20);
    r.extra["samples_per_s"] = sps;
  } else {
    r = make_result(sps, "samples/s", true);
    r.extra["accuracy"] = accuracy(*model, data.test_images.reshape({-1, 1, 28, 28}), data.test_labels);
  }
  return r;
}

Result cnn_latency(const Options& options) {
  manual_seed(options.seed);
  auto model = make_cnn();
  model->eval();
  Tensor x = rand({1, 1, 28, 28});
  NoGradGuard no_grad;
  const double us = mean_us([&] { (*model)(x); }, 50, 2000);
  return make_result(us, "us", false);
}

}  // namespace

void register_cnn_workloads(Registry& registry) {
  registry.add({"cnn_train", "seed CNN, batch 64, Adam, Fashion-MNIST: training samples/s",
                [](const Options& o) { return cnn_train_impl(o, false); }});
  registry.add({"cnn_latency", "seed CNN batch-1 predict (eval, no grad): microseconds", cnn_latency});
  registry.add({"cnn_peak_rss", "peak resident memory (VmHWM) of the process during a CNN training epoch: MiB",
                [](const Options& o) { return cnn_train_impl(o, true); }});
}

}  // namespace forge::bench
