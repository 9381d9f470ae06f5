#pragma once
// Small synthetic data sets and helpers for the training tests.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "core/random.h"
#include "data/dataset.h"
#include "nn/factory.h"
#include "train/callbacks.h"
#include "train/model.h"

namespace forge::test {

// Three well separated Gaussian blobs in 4-d: x float32 [n, 4], y int64 [n].
inline std::shared_ptr<TensorDataset> blobs(int64_t n, uint64_t seed = 1) {
  Generator gen(seed);
  std::vector<float> x(static_cast<size_t>(n * 4));
  std::vector<int64_t> y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = static_cast<int64_t>(gen.below(3));
    y[static_cast<size_t>(i)] = c;
    for (int64_t d = 0; d < 4; ++d)
      x[static_cast<size_t>(i * 4 + d)] = static_cast<float>((d == c ? 3.0 : 0.0) + 0.5 * gen.normal());
  }
  return std::make_shared<TensorDataset>(from_vector(x, {n, 4}), from_vector<int64_t>(y, {n}));
}

inline nlohmann::json mlp_layers() {
  return nlohmann::json::parse(R"([{"type": "Dense", "units": 16, "activation": "relu"},
                                   {"type": "Dropout", "rate": 0.1},
                                   {"type": "Dense", "units": 3, "activation": "softmax"}])");
}

// CompileOptions field by field (designated initializers that skip fields trip -Wextra).
inline train::CompileOptions compile_opts(nlohmann::json optimizer = {{"name", "adam"}},
                                          std::string loss = "sparse_categorical_crossentropy",
                                          std::vector<std::string> metrics = {}) {
  train::CompileOptions o;
  o.optimizer = std::move(optimizer);
  o.loss = std::move(loss);
  o.metrics = std::move(metrics);
  return o;
}

inline train::Model compiled_mlp(uint64_t seed = 7, nlohmann::json optimizer = {{"name", "adam"}, {"lr", 0.01}}) {
  manual_seed(seed);
  train::Model m = train::Model::from_config(mlp_layers(), {4});
  m.compile(compile_opts(optimizer, "sparse_categorical_crossentropy", {"accuracy"}));
  return m;
}

inline train::FitOptions quiet(int64_t epochs, int64_t batch = 16) {
  train::FitOptions o;
  o.epochs = epochs;
  o.batch_size = batch;
  o.verbose = 0;
  o.seed = 3;
  return o;
}

inline std::string scratch_dir() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("forge_train_") + std::to_string(::getpid()) + "_" + info->name());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape()) return false;
  auto va = a.contiguous().to_vector<float>(), vb = b.contiguous().to_vector<float>();
  return std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0;
}

inline bool same_weights(train::Model& a, train::Model& b) {
  auto sa = a.network().state(), sb = b.network().state();
  if (sa.size() != sb.size()) return false;
  for (size_t i = 0; i < sa.size(); ++i) {
    if (sa[i].name != sb[i].name) return false;
    if (sa[i].tensor.dtype() == DType::kF32 && !bit_equal(sa[i].tensor, sb[i].tensor)) return false;
  }
  return true;
}

}  // namespace forge::test
