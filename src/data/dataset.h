#pragma once
// Data sets: a small interface (`size()`, `get(i)`, `get_batch(indices)`) that wrappers compose:
// Subset picks rows, TransformedDataset applies fitted preprocessing, DataLoader batches,
// shuffles and prefetches. Examples are tensors; a batch stacks examples along a new axis 0.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/tensor.h"

namespace forge {

// One example, or a batch of them (then x is [B, ...] and y is [B, ...]). y may be undefined
// for unlabeled data.
struct Example {
  Tensor x;
  Tensor y;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Example `index` in [0, size()). x and y must not require grad.
  virtual Example get(int64_t index) const = 0;
  // The examples `indices`, stacked into [B, ...] tensors. The default calls get() per index and
  // copies rows with memcpy; data sets backed by contiguous memory override it to gather directly.
  // DataLoader calls this from its prefetch thread, so it must not touch shared mutable state.
  virtual Example get_batch(std::span<const int64_t> indices) const;
};

using DatasetPtr = std::shared_ptr<const Dataset>;

// In-memory examples: row i of x and row i of y. x is [N, ...]; y is [N, ...] or undefined.
// Both are made contiguous once, so get_batch() is one memcpy per row and tensor.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor x, Tensor y = Tensor());
  int64_t size() const override { return size_; }
  Example get(int64_t index) const override;
  Example get_batch(std::span<const int64_t> indices) const override;
  const Tensor& x() const { return x_; }
  const Tensor& y() const { return y_; }

 private:
  Tensor x_, y_;
  int64_t size_ = 0;
};

// The rows `indices` of another data set (which it keeps alive), in that order.
class Subset : public Dataset {
 public:
  Subset(DatasetPtr base, std::vector<int64_t> indices);
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Example get(int64_t index) const override;
  Example get_batch(std::span<const int64_t> indices) const override;
  const std::vector<int64_t>& indices() const { return indices_; }
  const DatasetPtr& base() const { return base_; }

 private:
  DatasetPtr base_;
  std::vector<int64_t> indices_;
};

// Randomly partitions a data set into disjoint subsets with the given fractions (e.g.
// {0.8, 0.1, 0.1} for train/val/test). Fractions must be positive and sum to 1; sizes are
// rounded at the cumulative boundaries so they always add up to size(). The same seed gives
// the same split on every platform.
std::vector<std::shared_ptr<Subset>> split(const DatasetPtr& dataset, const std::vector<double>& fractions,
                                           uint64_t seed);

// All examples of a data set as one batch (x: [N, ...]); used to fit preprocessing on a split.
Example materialize(const Dataset& dataset);

// Stacks equally shaped tensors along a new axis 0 (memcpy per tensor). Used by get_batch.
Tensor stack_rows(const std::vector<Tensor>& rows);

}  // namespace forge
