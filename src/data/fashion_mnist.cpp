#include "data/fashion_mnist.h"

#include <filesystem>

#include "data/idx.h"
#include "ops/elementwise.h"

namespace forge {

namespace {

constexpr const char* kFiles[] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                  "t10k-labels-idx1-ubyte"};

// The path of `stem` in dir, preferring the .gz Debian ships; empty when neither exists.
std::string find_file(const std::string& dir, const std::string& stem) {
  for (const std::string& name : {stem + ".gz", stem}) {
    const auto path = std::filesystem::path(dir) / name;
    if (std::filesystem::is_regular_file(path)) return path.string();
  }
  return "";
}

std::string require_file(const std::string& dir, const std::string& stem) {
  std::string path = find_file(dir, stem);
  FORGE_CHECK(!path.empty(),
              "[fashion_mnist] {}/{}(.gz) not found; install it with: sudo apt-get install dataset-fashion-mnist", dir,
              stem);
  return path;
}

// images: uint8 [N, 28, 28] -> float32 [N, 784] / 255; labels: uint8 [N] -> int64 [N].
void load_split(const std::string& dir, const char* images_stem, const char* labels_stem, Tensor& images,
                Tensor& labels) {
  const std::string images_path = require_file(dir, images_stem);
  const std::string labels_path = require_file(dir, labels_stem);
  const Tensor raw_images = load_idx(images_path);
  const Tensor raw_labels = load_idx(labels_path);
  FORGE_CHECK(
      raw_images.dtype() == DType::kU8 && raw_images.dim() == 3 && raw_images.size(1) == 28 && raw_images.size(2) == 28,
      "[fashion_mnist] {}: expected uint8 images (N,28,28), got {} {}", images_path, dtype_name(raw_images.dtype()),
      shape_str(raw_images));
  FORGE_CHECK(raw_labels.dtype() == DType::kU8 && raw_labels.dim() == 1 && raw_labels.size(0) == raw_images.size(0),
              "[fashion_mnist] {}: expected {} uint8 labels, got {} {}", labels_path, raw_images.size(0),
              dtype_name(raw_labels.dtype()), shape_str(raw_labels));
  images = div(raw_images.reshape({raw_images.size(0), 28 * 28}).to(DType::kF32), 255.0);
  labels = raw_labels.to(DType::kI64);
}

}  // namespace

bool fashion_mnist_available(const std::string& dir) {
  for (const char* stem : kFiles) {
    if (find_file(dir, stem).empty()) return false;
  }
  return true;
}

FashionMnist load_fashion_mnist(const std::string& dir) {
  FashionMnist data;
  load_split(dir, kFiles[0], kFiles[1], data.train_images, data.train_labels);
  load_split(dir, kFiles[2], kFiles[3], data.test_images, data.test_labels);
  return data;
}

}  // namespace forge
