#pragma once
// DataLoader: batches a Dataset, shuffles with a seeded generator, and optionally prepares the
// next batches on a background thread while the caller trains on the current one.
//
//   DataLoader loader(train, {.batch_size = 64, .shuffle = true, .seed = 1, .prefetch = 2});
//   for (int64_t epoch = 0; epoch < 10; ++epoch)
//     for (const Example& batch : loader.epoch(epoch)) { ... batch.x, batch.y ... }
//
// The order of an epoch depends only on (seed, epoch), never on timing or prefetching, so a
// resumed run sees the same batches.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"

namespace forge {

struct DataLoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = false;  // a fresh permutation per epoch, from (seed, epoch)
  uint64_t seed = 0;
  bool drop_last = false;  // drop a final batch smaller than batch_size
  int prefetch = 0;        // batches prepared ahead on one background thread (0: none)
};

class DataLoader {
 public:
  DataLoader(DatasetPtr dataset, DataLoaderOptions options = {});
  ~DataLoader();  // stops and joins the prefetch thread
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t num_batches() const;  // batches per epoch
  const DataLoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return *dataset_; }

  // Starts epoch `epoch` (discarding what is left of the current one) and computes its order.
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch into `batch`; false when the epoch is done. Starts
  // epoch 0 when no epoch was started. Rethrows an error raised while preparing the batch.
  bool next(Example& batch);
  // The example indices of epoch `epoch`, in batch order (before drop_last).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

  // Range over one epoch: `for (const Example& b : loader.epoch(e))`.
  class Iterator {
   public:
    using value_type = Example;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    explicit Iterator(DataLoader* loader) : loader_(loader) { ++*this; }
    const Example& operator*() const { return batch_; }
    const Example* operator->() const { return &batch_; }
    Iterator& operator++() {
      if (!loader_->next(batch_)) loader_ = nullptr;
      return *this;
    }
    bool operator==(const Iterator& other) const { return loader_ == other.loader_; }

   private:
    DataLoader* loader_ = nullptr;
    Example batch_;
  };
  struct EpochRange {
    DataLoader* loader;
    Iterator begin() { return Iterator(loader); }
    Iterator end() { return Iterator(); }
  };
  EpochRange epoch(int64_t epoch) {
    start_epoch(epoch);
    return {this};
  }

 private:
  struct Prepared {
    Example batch;
    std::exception_ptr error;
  };
  Example make_batch(const std::vector<int64_t>& order, int64_t b) const;
  void worker_loop();

  DatasetPtr dataset_;
  DataLoaderOptions options_;

  // Shared with the prefetch thread, guarded by mutex_.
  std::mutex mutex_;
  std::condition_variable work_cv_;   // the worker waits here for room or a new epoch
  std::condition_variable ready_cv_;  // next() waits here for a prepared batch
  std::shared_ptr<const std::vector<int64_t>> order_;
  uint64_t generation_ = 0;  // bumped per start_epoch; stale batches are dropped
  int64_t produced_ = 0;     // batches handed to the worker
  int64_t consumed_ = 0;     // batches returned by next()
  std::deque<Prepared> ready_;
  bool started_ = false;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace forge
