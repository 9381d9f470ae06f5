#include "nn/layers/pool.h"

#include "ops/pool.h"

namespace forge::nn {

// ---- Pool1D

Pool1D::Pool1D(Kind kind, int64_t pool_size, Pool1DOptions options)
    : kind_(kind),
      pool_size_(pool_size),
      strides_(options.strides == 0 ? pool_size : options.strides),
      options_(std::move(options)),
      padding_(detail::parse_padding(options_.padding, name())) {
  FORGE_CHECK(pool_size > 0, "[{}] pool_size must be positive, got {}", name(), pool_size);
  FORGE_CHECK(options_.strides >= 0, "[{}] strides must be >= 0 (0 = pool_size), got {}", name(), options_.strides);
}

Shape Pool1D::output_shape(const Shape& input) const {
  FORGE_CHECK(input.size() == 3, "[{}] input must be 3-d (N,C,L), got {}", name(), shape_str(input));
  return {input[0], input[1],
          detail::window_output_length(input[2], pool_size_, strides_, 1, options_.padding == "same")};
}

Tensor Pool1D::forward(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[{}] input is undefined", name());
  output_shape(input.shape());
  return kind_ == Kind::kMax ? max_pool1d(input, pool_size_, strides_, padding_)
                             : avg_pool1d(input, pool_size_, strides_, padding_);
}

// ---- Pool2D

Pool2D::Pool2D(Kind kind, std::array<int64_t, 2> pool_size, Pool2DOptions options)
    : kind_(kind),
      pool_size_(pool_size),
      options_(std::move(options)),
      padding_(detail::parse_padding(options_.padding, name())) {
  for (int i = 0; i < 2; ++i) {
    FORGE_CHECK(pool_size[i] > 0, "[{}] pool_size must be positive, got ({},{})", name(), pool_size[0], pool_size[1]);
    FORGE_CHECK(options_.strides[i] >= 0, "[{}] strides must be >= 0 (0 = pool_size), got ({},{})", name(),
                options_.strides[0], options_.strides[1]);
    strides_[i] = options_.strides[i] == 0 ? pool_size[i] : options_.strides[i];
  }
}

Shape Pool2D::output_shape(const Shape& input) const {
  FORGE_CHECK(input.size() == 4, "[{}] input must be 4-d (N,C,H,W), got {}", name(), shape_str(input));
  const bool same = options_.padding == "same";
  return {input[0], input[1], detail::window_output_length(input[2], pool_size_[0], strides_[0], 1, same),
          detail::window_output_length(input[3], pool_size_[1], strides_[1], 1, same)};
}

Tensor Pool2D::forward(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[{}] input is undefined", name());
  output_shape(input.shape());
  return kind_ == Kind::kMax ? max_pool2d(input, pool_size_, strides_, padding_)
                             : avg_pool2d(input, pool_size_, strides_, padding_);
}

// ---- GlobalPool

std::string GlobalPool::name() const {
  switch (kind_) {
    case Kind::kMax1D:
      return "GlobalMaxPooling1D";
    case Kind::kAverage1D:
      return "GlobalAveragePooling1D";
    case Kind::kMax2D:
      return "GlobalMaxPooling2D";
    case Kind::kAverage2D:
      return "GlobalAveragePooling2D";
  }
  return "GlobalPool";
}

Shape GlobalPool::output_shape(const Shape& input) const {
  FORGE_CHECK(static_cast<int64_t>(input.size()) == rank(), "[{}] input must be {}-d {}, got {}", name(), rank(),
              rank() == 3 ? "(N,C,L)" : "(N,C,H,W)", shape_str(input));
  return {input[0], input[1]};
}

Tensor GlobalPool::forward(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[{}] input is undefined", name());
  output_shape(input.shape());
  switch (kind_) {
    case Kind::kMax1D:
      return global_max_pool1d(input);
    case Kind::kAverage1D:
      return global_avg_pool1d(input);
    case Kind::kMax2D:
      return global_max_pool2d(input);
    case Kind::kAverage2D:
      break;
  }
  return global_avg_pool2d(input);
}

}  // namespace forge::nn
