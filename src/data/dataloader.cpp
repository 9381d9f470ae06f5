#include "data/dataloader.h"

#include <numeric>

#include "core/random.h"

namespace forge {

DataLoader::DataLoader(DatasetPtr dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {
  FORGE_CHECK(dataset_ != nullptr, "[DataLoader] data set is null");
  FORGE_CHECK(options_.batch_size > 0, "[DataLoader] batch_size must be positive, got {}", options_.batch_size);
  FORGE_CHECK(options_.prefetch >= 0, "[DataLoader] prefetch must be >= 0, got {}", options_.prefetch);
  if (options_.prefetch > 0) worker_ = std::thread([this] { worker_loop(); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  work_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

int64_t DataLoader::num_batches() const {
  const int64_t n = dataset_->size();
  return options_.drop_last ? n / options_.batch_size : (n + options_.batch_size - 1) / options_.batch_size;
}

std::vector<int64_t> DataLoader::epoch_order(int64_t epoch) const {
  FORGE_CHECK(epoch >= 0, "[DataLoader] epoch must be >= 0, got {}", epoch);
  const int64_t n = dataset_->size();
  if (!options_.shuffle) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    return order;
  }
  // One generator per (seed, epoch): splitmix64 seeding decorrelates neighbouring seeds.
  Generator gen(options_.seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1);
  return randperm(n, &gen).to_vector<int64_t>();
}

Example DataLoader::make_batch(const std::vector<int64_t>& order, int64_t b) const {
  const int64_t n = static_cast<int64_t>(order.size());
  const int64_t begin = b * options_.batch_size;
  const int64_t end = std::min(n, begin + options_.batch_size);
  return dataset_->get_batch(std::span<const int64_t>(order.data() + begin, static_cast<size_t>(end - begin)));
}

void DataLoader::start_epoch(int64_t epoch) {
  auto order = std::make_shared<const std::vector<int64_t>>(epoch_order(epoch));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    order_ = std::move(order);
    ++generation_;
    produced_ = 0;
    consumed_ = 0;
    ready_.clear();
    started_ = true;
  }
  work_cv_.notify_one();
}

bool DataLoader::next(Example& batch) {
  if (!started_) start_epoch(0);
  const int64_t total = num_batches();
  if (options_.prefetch == 0) {
    if (consumed_ >= total) return false;
    batch = make_batch(*order_, consumed_++);
    return true;
  }
  Prepared item;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    if (consumed_ >= total) return false;
    ready_cv_.wait(lock, [&] { return !ready_.empty(); });
    item = std::move(ready_.front());
    ready_.pop_front();
    ++consumed_;
  }
  work_cv_.notify_one();  // there is room for one more batch
  if (item.error) std::rethrow_exception(item.error);
  batch = std::move(item.batch);
  return true;
}

void DataLoader::worker_loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_cv_.wait(lock, [&] {
      return stop_ ||
             (started_ && produced_ < num_batches() && produced_ - consumed_ < static_cast<int64_t>(options_.prefetch));
    });
    if (stop_) return;
    const int64_t b = produced_++;
    const uint64_t generation = generation_;
    const auto order = order_;
    lock.unlock();
    Prepared item;
    try {
      item.batch = make_batch(*order, b);
    } catch (...) {
      item.error = std::current_exception();
    }
    lock.lock();
    if (generation != generation_) continue;  // start_epoch() ran meanwhile: drop the stale batch
    ready_.push_back(std::move(item));
    ready_cv_.notify_one();
  }
}

}  // namespace forge
