// `forge demo`: trains the seeds' two-layer network (784 -> 128 ReLU -> 10) on Fashion-MNIST
// with minibatch SGD and reports test accuracy. A hand-rolled loop until src/train/ lands.
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <iostream>

#include "autograd/grad_mode.h"
#include "cli/commands.h"
#include "core/parallel.h"
#include "core/random.h"
#include "data/fashion_mnist.h"
#include "models/two_layer_mlp.h"
#include "nn/loss.h"
#include "ops/elementwise.h"
#include "ops/reduce.h"

namespace forge::cli {

namespace {

struct DemoOptions {
  int epochs = 1;
  int64_t batch_size = 64;
  double lr = 0.01;
  int threads = 1;
  uint64_t seed = 0;
  std::string data_dir = kFashionMnistDir;
};

// Copies rows order[begin..end) of x ([N, ...], contiguous) into a new [end - begin, ...] tensor.
Tensor gather_rows(const Tensor& x, const int64_t* order, int64_t count) {
  Shape shape = x.shape();
  shape[0] = count;
  Tensor out = empty(shape, x.dtype());
  const size_t row_bytes = nbytes_for(x.dtype(), x.numel() / x.size(0));
  const auto* src = static_cast<const uint8_t*>(x.raw_data());
  auto* dst = static_cast<uint8_t*>(out.raw_data());
  for (int64_t i = 0; i < count; ++i) std::memcpy(dst + i * row_bytes, src + order[i] * row_bytes, row_bytes);
  return out;
}

double accuracy(const models::TwoLayerMlp& model, const Tensor& images, const Tensor& labels) {
  NoGradGuard no_grad;
  double correct = 0;
  const int64_t n = images.size(0);
  for (int64_t start = 0; start < n; start += 1000) {
    const int64_t end = std::min(n, start + 1000);
    const Tensor predicted = argmax(model.forward(images.slice(0, start, end)), 1);
    correct += sum(eq(predicted, labels.slice(0, start, end))).item();
  }
  return correct / static_cast<double>(n);
}

void run_demo(const DemoOptions& opt) {
  FORGE_CHECK(opt.epochs >= 1, "[demo] --epochs must be at least 1, got {}", opt.epochs);
  FORGE_CHECK(opt.batch_size >= 1, "[demo] --batch-size must be at least 1, got {}", opt.batch_size);
  FORGE_CHECK(opt.lr > 0, "[demo] --lr must be positive, got {}", opt.lr);
  FORGE_CHECK(opt.threads >= 1, "[demo] --threads must be at least 1, got {}", opt.threads);
  set_num_threads(opt.threads);
  const FashionMnist data = load_fashion_mnist(opt.data_dir);
  const int64_t n = data.train_images.size(0);
  FORGE_CHECK(opt.batch_size <= n, "[demo] --batch-size {} exceeds the {} training images", opt.batch_size, n);
  const int64_t steps = n / opt.batch_size;  // the last partial batch is dropped
  fmt::print("Fashion-MNIST: {} train / {} test images; 784 -> 128 ReLU -> 10, SGD lr {}, batch {}, {} thread(s)\n", n,
             data.test_images.size(0), opt.lr, opt.batch_size, opt.threads);

  Generator gen(opt.seed);
  const auto model = models::TwoLayerMlp::init(784, 128, 10, gen);
  const Tensors params = model.parameters();
  const int64_t report_every = std::max<int64_t>(1, std::min<int64_t>(100, steps));
  using Clock = std::chrono::steady_clock;
  for (int epoch = 1; epoch <= opt.epochs; ++epoch) {
    const Tensor order = randperm(n, &gen);
    const int64_t* idx = order.data<int64_t>();
    double loss_sum = 0;
    int64_t loss_count = 0;
    auto window_start = Clock::now();
    for (int64_t step = 0; step < steps; ++step) {
      const int64_t* rows = idx + step * opt.batch_size;
      const Tensor x = gather_rows(data.train_images, rows, opt.batch_size);
      const Tensor y = gather_rows(data.train_labels, rows, opt.batch_size);
      for (const Tensor& p : params) p.zero_grad();
      const Tensor loss = sparse_categorical_cross_entropy_with_logits(model.forward(x), y);
      loss.backward();
      Tensors grads;
      for (const Tensor& p : params) grads.push_back(p.grad());
      models::sgd_update(model, grads, opt.lr);
      loss_sum += loss.item();
      ++loss_count;
      if ((step + 1) % report_every == 0 || step + 1 == steps) {
        const double seconds = std::chrono::duration<double>(Clock::now() - window_start).count();
        fmt::print("epoch {}/{}  step {:>4}/{}  loss {:.4f}  {:.0f} samples/s\n", epoch, opt.epochs, step + 1, steps,
                   loss_sum / static_cast<double>(loss_count),
                   static_cast<double>(loss_count * opt.batch_size) / seconds);
        std::fflush(stdout);
        loss_sum = 0;
        loss_count = 0;
        window_start = Clock::now();
      }
    }
  }
  fmt::print("test accuracy: {:.4f}\n", accuracy(model, data.test_images, data.test_labels));
}

}  // namespace

void register_demo(CLI::App& app) {
  auto options = std::make_shared<DemoOptions>();
  auto* demo = app.add_subcommand("demo", "Train the two-layer example network (784-128-10) on Fashion-MNIST");
  demo->add_option("--epochs", options->epochs, "passes over the 60000 training images")->capture_default_str();
  demo->add_option("--batch-size", options->batch_size, "images per SGD step")->capture_default_str();
  demo->add_option("--lr", options->lr, "SGD learning rate")->capture_default_str();
  demo->add_option("--threads", options->threads, "OpenMP threads for kernels")->capture_default_str();
  demo->add_option("--seed", options->seed, "seed for initial weights and shuffling")->capture_default_str();
  demo->add_option("--data", options->data_dir, "directory with the four Fashion-MNIST IDX files")
      ->capture_default_str();
  demo->callback([options] { run_demo(*options); });
}

}  // namespace forge::cli
