#pragma once
// Fashion-MNIST (Zalando; 28x28 grey images of 10 clothing classes, 60000 train / 10000 test)
// as Debian's `dataset-fashion-mnist` package installs it: four gzip'd IDX files.
#include <string>

#include "core/tensor.h"

namespace forge {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct FashionMnist {
  Tensor train_images, train_labels;  // float32 [60000, 784] in [0, 1]; int64 [60000]
  Tensor test_images, test_labels;    // float32 [10000, 784];           int64 [10000]
};

// True when all four files are present in `dir` (gzip'd or not).
bool fashion_mnist_available(const std::string& dir = kFashionMnistDir);

// Loads and checks the four files. A missing file throws
// "[fashion_mnist] DIR/train-images-idx3-ubyte(.gz) not found; install it with: sudo apt-get
// install dataset-fashion-mnist".
FashionMnist load_fashion_mnist(const std::string& dir = kFashionMnistDir);

}  // namespace forge
