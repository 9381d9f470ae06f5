#include "bench/common.h"

#include "autograd/grad_mode.h"
#include "core/random.h"
#include "nn/loss.h"
#include "ops/index.h"
#include "ops/reduce.h"

namespace forge::bench {

const FashionMnist& fashion_mnist() {
  static const FashionMnist data = load_fashion_mnist();
  return data;
}

double train_epoch(nn::Module& model, Optimizer& optimizer, const Tensor& x, const Tensor& y, int64_t batch,
                   const Options& options) {
  model.train();
  const int64_t n = x.shape()[0];
  const int64_t limit = options.samples > 0 ? std::min(options.samples, n) : n;
  Tensor perm = randperm(n);
  const int64_t steps = limit / batch;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) {
    Tensor idx = perm.slice(0, s * batch, (s + 1) * batch);
    optimizer.zero_grad();
    Tensor loss = sparse_categorical_cross_entropy_with_logits(model(index_select(x, 0, idx)),
                                                                 index_select(y, 0, idx));
    loss.backward();
    optimizer.step();
  }
  return static_cast<double>(steps * batch) / seconds_since(t0);
}

double accuracy(nn::Module& model, const Tensor& x, const Tensor& y) {
  NoGradGuard no_grad;
  model.eval();
  const int64_t n = x.shape()[0];
  int64_t correct = 0;
  for (int64_t i = 0; i < n; i += 1000) {
    const int64_t end = std::min(n, i + 1000);
    std::vector<int64_t> pred = argmax(model(x.slice(0, i, end)), 1).to_vector<int64_t>();
    std::vector<int64_t> truth = y.slice(0, i, end).to_vector<int64_t>();
    for (size_t k = 0; k < pred.size(); ++k) correct += pred[k] == truth[k];
  }
  model.train();
  return static_cast<double>(correct) / static_cast<double>(n);
}

double mean_us(const std::function<void()>& fn, int warmup, int iterations) {
  for (int i = 0; i < warmup; ++i) fn();
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) fn();
  return seconds_since(t0) / iterations * 1e6;
}

}  // namespace forge::bench
