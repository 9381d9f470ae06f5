#pragma once
// Keras pooling layers on PyTorch layouts ([N, C, L] and NCHW). strides 0 means "equal to
// pool_size" (Keras' None); padding "valid" or "same" as in nn/layers/conv.h.
#include <array>
#include <string>

#include "nn/layers/conv.h"

namespace forge::nn {

struct Pool1DOptions {
  int64_t strides = 0;
  std::string padding = "valid";
};

struct Pool2DOptions {
  std::array<int64_t, 2> strides = {0, 0};
  std::string padding = "valid";
};

// Shared by the windowed 1-d pools: [N, C, L] -> [N, C, L'].
class Pool1D : public Module {
 public:
  enum class Kind { kMax, kAverage };
  Pool1D(Kind kind, int64_t pool_size, Pool1DOptions options);
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return kind_ == Kind::kMax ? "MaxPooling1D" : "AveragePooling1D"; }
  Shape output_shape(const Shape& input) const override;
  Kind kind() const { return kind_; }
  int64_t pool_size() const { return pool_size_; }
  int64_t strides() const { return strides_; }  // 0 resolved to pool_size
  const Pool1DOptions& options() const { return options_; }

 private:
  Kind kind_;
  int64_t pool_size_, strides_;
  Pool1DOptions options_;
  Padding padding_;
};

// Shared by the windowed 2-d pools: NCHW -> [N, C, H', W'].
class Pool2D : public Module {
 public:
  enum class Kind { kMax, kAverage };
  Pool2D(Kind kind, std::array<int64_t, 2> pool_size, Pool2DOptions options);
  Tensor forward(const Tensor& input) override;
  std::string name() const override { return kind_ == Kind::kMax ? "MaxPooling2D" : "AveragePooling2D"; }
  Shape output_shape(const Shape& input) const override;
  Kind kind() const { return kind_; }
  const std::array<int64_t, 2>& pool_size() const { return pool_size_; }
  const std::array<int64_t, 2>& strides() const { return strides_; }  // 0s resolved to pool_size
  const Pool2DOptions& options() const { return options_; }

 private:
  Kind kind_;
  std::array<int64_t, 2> pool_size_, strides_;
  Pool2DOptions options_;
  Padding padding_;
};

class MaxPooling1D : public Pool1D {
 public:
  explicit MaxPooling1D(int64_t pool_size = 2, Pool1DOptions options = {})
      : Pool1D(Kind::kMax, pool_size, std::move(options)) {}
};
class AveragePooling1D : public Pool1D {
 public:
  explicit AveragePooling1D(int64_t pool_size = 2, Pool1DOptions options = {})
      : Pool1D(Kind::kAverage, pool_size, std::move(options)) {}
};
class MaxPooling2D : public Pool2D {
 public:
  explicit MaxPooling2D(std::array<int64_t, 2> pool_size = {2, 2}, Pool2DOptions options = {})
      : Pool2D(Kind::kMax, pool_size, std::move(options)) {}
};
class AveragePooling2D : public Pool2D {
 public:
  explicit AveragePooling2D(std::array<int64_t, 2> pool_size = {2, 2}, Pool2DOptions options = {})
      : Pool2D(Kind::kAverage, pool_size, std::move(options)) {}
};

// Global pools reduce every spatial axis: [N, C, L] -> [N, C] and NCHW -> [N, C].
class GlobalPool : public Module {
 public:
  enum class Kind { kMax1D, kAverage1D, kMax2D, kAverage2D };
  explicit GlobalPool(Kind kind) : kind_(kind) {}
  Tensor forward(const Tensor& input) override;
  std::string name() const override;
  Shape output_shape(const Shape& input) const override;

 private:
  int64_t rank() const { return kind_ == Kind::kMax1D || kind_ == Kind::kAverage1D ? 3 : 4; }
  Kind kind_;
};

class GlobalMaxPooling1D : public GlobalPool {
 public:
  GlobalMaxPooling1D() : GlobalPool(Kind::kMax1D) {}
};
class GlobalAveragePooling1D : public GlobalPool {
 public:
  GlobalAveragePooling1D() : GlobalPool(Kind::kAverage1D) {}
};
class GlobalMaxPooling2D : public GlobalPool {
 public:
  GlobalMaxPooling2D() : GlobalPool(Kind::kMax2D) {}
};
class GlobalAveragePooling2D : public GlobalPool {
 public:
  GlobalAveragePooling2D() : GlobalPool(Kind::kAverage2D) {}
};

}  // namespace forge::nn
