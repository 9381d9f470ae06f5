// The seeds' two-layer network (784 -> 128 ReLU -> 10, softmax cross-entropy, SGD lr 0.01),
// written twice: with autograd and by hand. Both start from the same weights; the program prints
// how far apart every gradient is and fails (exit 1) beyond 1e-4 relative.
//
//   ./build/example_two_layer_mlp              # first 64 Fashion-MNIST images when installed
//   ./build/example_two_layer_mlp --synthetic  # a deterministic random batch
#include "two_layer_mlp.h"

#include <cstring>
#include <iostream>

#include "data/fashion_mnist.h"

int main(int argc, char** argv) {
  using namespace forge;
  bool synthetic = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--synthetic") == 0) {
      synthetic = true;
    } else {
      std::cerr << "usage: " << argv[0] << " [--synthetic]\n";
      return 2;
    }
  }
  try {
    constexpr int64_t kBatch = 64;
    Tensor x, labels;
    if (!synthetic && fashion_mnist_available()) {
      const FashionMnist data = load_fashion_mnist();
      x = data.train_images.slice(0, 0, kBatch).contiguous();
      labels = data.train_labels.slice(0, 0, kBatch).contiguous();
      std::cout << "data: first " << kBatch << " Fashion-MNIST training images from " << kFashionMnistDir << "\n";
    } else {
      example::synthetic_batch(kBatch, 7, x, labels);
      std::cout << "data: synthetic batch of " << kBatch << " (seed 7)\n";
    }
    Generator gen(42);
    const auto model = models::TwoLayerMlp::init(784, 128, 10, gen);
    const auto result = example::compare_autograd_and_manual(model, x, labels, 3, 0.01, std::cout);
    constexpr double kTolerance = 1e-4;
    const bool ok = result.worst_relative <= kTolerance;
    std::cout << (ok ? "OK" : "MISMATCH") << ": largest relative difference " << result.worst_relative
              << (ok ? " <= " : " > ") << kTolerance << "\n";
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
