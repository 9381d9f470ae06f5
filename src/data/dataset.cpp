#include "data/dataset.h"

#include <cmath>
#include <cstring>
#include <numeric>

#include "core/random.h"

namespace forge {

namespace {

void check_row_tensor(const Tensor& t, const char* what) {
  FORGE_CHECK(!is_quantized(t.dtype()), "[dataset] {} has block-quantized dtype {}; dequantize it first", what,
              dtype_name(t.dtype()));
  FORGE_CHECK(!t.requires_grad(), "[dataset] {} requires grad; pass data tensors (use detach())", what);
}

// out[b] = src[indices[b]] for contiguous src [N, ...].
Tensor gather_rows(const Tensor& src, std::span<const int64_t> indices, int64_t n) {
  Shape shape = src.shape();
  shape[0] = static_cast<int64_t>(indices.size());
  Tensor out = empty(shape, src.dtype());
  const size_t row_bytes = nbytes_for(src.dtype(), n == 0 ? 0 : src.numel() / n);
  const auto* in = static_cast<const uint8_t*>(src.raw_data());
  auto* dst = static_cast<uint8_t*>(out.raw_data());
  for (size_t b = 0; b < indices.size(); ++b) {
    const int64_t i = indices[b];
    FORGE_CHECK(i >= 0 && i < n, "[dataset] index {} out of range for a data set of size {}", i, n);
    std::memcpy(dst + b * row_bytes, in + static_cast<size_t>(i) * row_bytes, row_bytes);
  }
  return out;
}

}  // namespace

Tensor stack_rows(const std::vector<Tensor>& rows) {
  FORGE_CHECK(!rows.empty(), "[stack_rows] no tensors to stack");
  const Shape& row_shape = rows[0].shape();
  Shape shape{static_cast<int64_t>(rows.size())};
  shape.insert(shape.end(), row_shape.begin(), row_shape.end());
  Tensor out = empty(shape, rows[0].dtype());
  const size_t row_bytes = nbytes_for(rows[0].dtype(), rows[0].numel());
  auto* dst = static_cast<uint8_t*>(out.raw_data());
  for (size_t b = 0; b < rows.size(); ++b) {
    FORGE_CHECK(rows[b].shape() == row_shape && rows[b].dtype() == rows[0].dtype(),
                "[stack_rows] example {} is {} {}, example 0 is {} {}", b, dtype_name(rows[b].dtype()),
                shape_str(rows[b]), dtype_name(rows[0].dtype()), shape_str(row_shape));
    const Tensor c = rows[b].contiguous();
    std::memcpy(dst + b * row_bytes, c.raw_data(), row_bytes);
  }
  return out;
}

Example Dataset::get_batch(std::span<const int64_t> indices) const {
  FORGE_CHECK(!indices.empty(), "[dataset] get_batch needs at least one index");
  std::vector<Tensor> xs, ys;
  xs.reserve(indices.size());
  for (int64_t i : indices) {
    FORGE_CHECK(i >= 0 && i < size(), "[dataset] index {} out of range for a data set of size {}", i, size());
    Example e = get(i);
    xs.push_back(std::move(e.x));
    if (e.y.defined()) ys.push_back(std::move(e.y));
  }
  FORGE_CHECK(ys.empty() || ys.size() == xs.size(), "[dataset] some examples have a target y and some do not");
  return {stack_rows(xs), ys.empty() ? Tensor() : stack_rows(ys)};
}

TensorDataset::TensorDataset(Tensor x, Tensor y) {
  FORGE_CHECK(x.defined() && x.dim() >= 1, "[TensorDataset] x must have a leading example axis, got {}",
              x.defined() ? shape_str(x) : std::string("an undefined tensor"));
  check_row_tensor(x, "x");
  size_ = x.size(0);
  if (y.defined()) {
    check_row_tensor(y, "y");
    FORGE_CHECK(y.dim() >= 1 && y.size(0) == size_, "[TensorDataset] x has {} examples {} but y is {}", size_,
                shape_str(x), shape_str(y));
    y_ = y.contiguous();
  }
  x_ = x.contiguous();
}

Example TensorDataset::get(int64_t index) const {
  FORGE_CHECK(index >= 0 && index < size_, "[dataset] index {} out of range for a data set of size {}", index, size_);
  return {x_.select(0, index), y_.defined() ? y_.select(0, index) : Tensor()};
}

Example TensorDataset::get_batch(std::span<const int64_t> indices) const {
  FORGE_CHECK(!indices.empty(), "[dataset] get_batch needs at least one index");
  return {gather_rows(x_, indices, size_), y_.defined() ? gather_rows(y_, indices, size_) : Tensor()};
}

Subset::Subset(DatasetPtr base, std::vector<int64_t> indices) : base_(std::move(base)), indices_(std::move(indices)) {
  FORGE_CHECK(base_ != nullptr, "[Subset] base data set is null");
  const int64_t n = base_->size();
  for (int64_t i : indices_) {
    FORGE_CHECK(i >= 0 && i < n, "[Subset] index {} out of range for a data set of size {}", i, n);
  }
}

Example Subset::get(int64_t index) const {
  FORGE_CHECK(index >= 0 && index < size(), "[dataset] index {} out of range for a data set of size {}", index, size());
  return base_->get(indices_[static_cast<size_t>(index)]);
}

Example Subset::get_batch(std::span<const int64_t> indices) const {
  std::vector<int64_t> mapped(indices.size());
  for (size_t b = 0; b < indices.size(); ++b) {
    const int64_t i = indices[b];
    FORGE_CHECK(i >= 0 && i < size(), "[dataset] index {} out of range for a data set of size {}", i, size());
    mapped[b] = indices_[static_cast<size_t>(i)];
  }
  return base_->get_batch(mapped);
}

std::vector<std::shared_ptr<Subset>> split(const DatasetPtr& dataset, const std::vector<double>& fractions,
                                           uint64_t seed) {
  FORGE_CHECK(dataset != nullptr, "[split] data set is null");
  FORGE_CHECK(!fractions.empty(), "[split] needs at least one fraction");
  double total = 0;
  for (double f : fractions) {
    FORGE_CHECK(f > 0 && std::isfinite(f), "[split] fractions must be positive, got {}", fractions);
    total += f;
  }
  FORGE_CHECK(std::abs(total - 1.0) < 1e-6, "[split] fractions must sum to 1, got {} (sum {})", fractions, total);
  const int64_t n = dataset->size();
  Generator gen(seed);
  const std::vector<int64_t> order = randperm(n, &gen).to_vector<int64_t>();
  std::vector<std::shared_ptr<Subset>> parts;
  double cumulative = 0;
  int64_t start = 0;
  for (size_t k = 0; k < fractions.size(); ++k) {
    cumulative += fractions[k];
    const int64_t end =
        k + 1 == fractions.size() ? n : std::min<int64_t>(n, static_cast<int64_t>(std::llround(cumulative * n)));
    parts.push_back(
        std::make_shared<Subset>(dataset, std::vector<int64_t>(order.begin() + start, order.begin() + end)));
    start = end;
  }
  return parts;
}

Example materialize(const Dataset& dataset) {
  FORGE_CHECK(dataset.size() > 0, "[materialize] data set is empty");
  std::vector<int64_t> all(static_cast<size_t>(dataset.size()));
  std::iota(all.begin(), all.end(), 0);
  return dataset.get_batch(all);
}

}  // namespace forge
