// Whole-workload timer for the seed CNN (the `forge quickstart` model) on Fashion-MNIST,
// the Forge side of `torch_seed_models.py --only cnn`:
//   - training: one epoch of batch-64 Adam steps over the 60000 training images (or the
//     first --samples of them), samples per second, through train::Model::fit;
//   - predict latency: one image at a time, eval mode, no autograd (median of --reps);
//   - peak resident memory of the process (getrusage), printed last.
//
//   bench_cnn [--threads 1] [--samples 60000] [--reps 2000] [--precision fp32|bf16]
//             [--only train|latency] [--json]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "autograd/grad_mode.h"
#include "core/parallel.h"
#include "data/dataset.h"
#include "data/fashion_mnist.h"
#include "ops/reduce.h"
#include "ops/view.h"
#include "train/model.h"
#include "train/quickstart.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double cpu_seconds() {  // user + system time of the process: robust when other jobs share the cores
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

struct Args {
  int threads = 1;
  int64_t samples = 60000;
  int reps = 2000;
  std::string precision = "fp32";
  std::string only;
  bool json = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_cnn: %s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--threads")
      a.threads = std::stoi(next());
    else if (k == "--samples")
      a.samples = std::stoll(next());
    else if (k == "--reps")
      a.reps = std::stoi(next());
    else if (k == "--precision")
      a.precision = next();
    else if (k == "--only")
      a.only = next();
    else if (k == "--json")
      a.json = true;
    else {
      std::fprintf(stderr, "bench_cnn: unknown argument %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace forge;
  const Args args = parse(argc, argv);
  set_num_threads(args.threads);
  const FashionMnist data = load_fashion_mnist();
  const int64_t n = std::min<int64_t>(args.samples, data.train_images.size(0));
  Tensor x = data.train_images.slice(0, 0, n).reshape({n, 1, 28, 28}).contiguous();
  Tensor y = data.train_labels.slice(0, 0, n).contiguous();
  auto train_set = std::make_shared<TensorDataset>(x, y);

  const train::RunConfig cfg = train::quickstart_config();
  train::Model model = train::Model::from_config(cfg.layers, {1, 28, 28});
  train::CompileOptions co;
  co.optimizer = {{"name", "adam"}, {"lr", 1e-3}};
  co.loss = "sparse_categorical_crossentropy";
  co.precision = args.precision;
  model.compile(co);

  double train_sps = 0, train_cpu_sps = 0, train_s = 0, acc = 0, train_rss = 0;
  if (args.only.empty() || args.only == "train") {
    const auto t0 = Clock::now();
    const double c0 = cpu_seconds();
    train::FitOptions fo;
    fo.epochs = 1;
    fo.batch_size = 64;
    fo.verbose = 0;
    model.fit(train_set, fo);
    train_s = seconds_since(t0);
    train_sps = static_cast<double>(n) / train_s;
    train_cpu_sps = static_cast<double>(n) / (cpu_seconds() - c0);
    train_rss = peak_rss_mib();  // the peak up to the end of the epoch (before the batch-1000 test pass)
    Tensor probs = model.predict(data.test_images.reshape({-1, 1, 28, 28}), 1000);
    Tensor pred = argmax(probs, 1);
    const auto* p = pred.data<int64_t>();
    const auto* t = data.test_labels.data<int64_t>();
    int64_t right = 0;
    for (int64_t i = 0; i < pred.numel(); ++i) right += p[i] == t[i];
    acc = static_cast<double>(right) / static_cast<double>(pred.numel());
  }

  double lat_med_us = 0, lat_p90_us = 0;
  if (args.only.empty() || args.only == "latency") {
    nn::Module& net = model.network();
    net.train(false);
    NoGradGuard no_grad;
    std::vector<double> us;
    us.reserve(static_cast<size_t>(args.reps));
    for (int r = 0; r < args.reps + 50; ++r) {
      Tensor one = data.test_images.slice(0, r % 10000, r % 10000 + 1).reshape({1, 1, 28, 28});
      const auto t0 = Clock::now();
      Tensor out = net.forward(one);
      const double dt = seconds_since(t0) * 1e6;
      if (r >= 50) us.push_back(dt);  // the first calls create primitives
    }
    std::sort(us.begin(), us.end());
    lat_med_us = us[us.size() / 2];
    lat_p90_us = us[us.size() * 9 / 10];
  }

  const double rss = peak_rss_mib();
  if (args.json) {
    std::printf(
        "{\"workload\": \"cnn\", \"threads\": %d, \"precision\": \"%s\", \"samples\": %lld, \"train_samples_per_s\": "
        "%.1f, \"train_cpu_samples_per_s\": %.1f, \"train_s\": %.3f, \"train_peak_rss_mib\": %.1f, \"test_accuracy\": "
        "%.4f, \"predict1_median_us\": %.1f, \"predict1_p90_us\": %.1f, "
        "\"peak_rss_mib\": %.1f}\n",
        args.threads, args.precision.c_str(), static_cast<long long>(n), train_sps, train_cpu_sps, train_s, train_rss,
        acc, lat_med_us, lat_p90_us, rss);
  } else {
    std::printf("cnn threads=%d precision=%s samples=%lld\n", args.threads, args.precision.c_str(),
                static_cast<long long>(n));
    if (train_sps > 0) {
      std::printf("  train: %.1f samples/s (%.2f s; %.1f samples per CPU second), test accuracy %.4f\n", train_sps,
                  train_s, train_cpu_sps, acc);
      std::printf("  peak RSS at the end of the epoch: %.1f MiB\n", train_rss);
    }
    if (lat_med_us > 0) std::printf("  predict batch 1: median %.1f us, p90 %.1f us\n", lat_med_us, lat_p90_us);
    std::printf("  peak RSS: %.1f MiB\n", rss);
  }
  return 0;
}
