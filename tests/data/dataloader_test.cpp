#include "data/dataloader.h"

#include <algorithm>
#include <atomic>
#include <set>

#include "test_util.h"

namespace forge {
namespace {

// x row i = [i, 10 i], y = i.
std::shared_ptr<TensorDataset> numbered(int64_t n) {
  std::vector<float> x;
  for (int64_t i = 0; i < n; ++i) {
    x.push_back(static_cast<float>(i));
    x.push_back(static_cast<float>(10 * i));
  }
  return std::make_shared<TensorDataset>(from_vector(x, {n, 2}), arange(0, static_cast<double>(n), 1, DType::kI64));
}

std::vector<int64_t> labels_of_epoch(DataLoader& loader, int64_t epoch, std::vector<int64_t>* sizes = nullptr) {
  std::vector<int64_t> seen;
  for (const Example& batch : loader.epoch(epoch)) {
    const auto y = batch.y.to_vector<int64_t>();
    const auto x = batch.x.to_vector<float>();
    for (size_t b = 0; b < y.size(); ++b) {
      EXPECT_EQ(x[2 * b], static_cast<float>(y[b]));  // x and y rows stay paired
      EXPECT_EQ(x[2 * b + 1], static_cast<float>(10 * y[b]));
    }
    seen.insert(seen.end(), y.begin(), y.end());
    if (sizes) sizes->push_back(batch.x.size(0));
  }
  return seen;
}

TEST(TensorDataset, GetAndGatherRows) {
  auto data = numbered(5);
  EXPECT_EQ(data->size(), 5);
  const Example e = data->get(3);
  EXPECT_TRUE(test::all_close(e.x, from_vector({3, 30}, {2})));
  EXPECT_EQ(e.y.item(), 3);
  const std::vector<int64_t> idx{4, 0, 4};
  const Example b = data->get_batch(idx);
  EXPECT_TRUE(test::all_close(b.x, from_vector({4, 40, 0, 0, 4, 40}, {3, 2})));
  EXPECT_EQ(b.y.to_vector<int64_t>(), idx);
  EXPECT_THROW_MSG(data->get(5), "[dataset] index 5 out of range for a data set of size 5");
  const std::vector<int64_t> bad{1, -1};
  EXPECT_THROW_MSG(data->get_batch(bad), "[dataset] index -1 out of range for a data set of size 5");
  EXPECT_THROW_MSG(TensorDataset(zeros({3, 2}), zeros({4})), "[TensorDataset] x has 3 examples (3,2) but y is (4,)");
  EXPECT_THROW_MSG(TensorDataset(scalar(1)), "[TensorDataset] x must have a leading example axis, got ()");
}

// A data set with only get(): exercises the default get_batch (stacking by memcpy).
class Squares : public Dataset {
 public:
  int64_t size() const override { return 4; }
  Example get(int64_t i) const override {
    return {full({2, 2}, static_cast<double>(i * i)), scalar(static_cast<double>(i), DType::kI64)};
  }
};

TEST(Dataset, DefaultGetBatchStacks) {
  Squares sq;
  const std::vector<int64_t> idx{3, 1};
  const Example b = sq.get_batch(idx);
  EXPECT_EQ(b.x.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(b.x.to_vector<float>()[0], 9.0f);
  EXPECT_EQ(b.x.to_vector<float>()[4], 1.0f);
  EXPECT_EQ(b.y.to_vector<int64_t>(), idx);
  EXPECT_THROW_MSG(stack_rows({zeros({2}), zeros({3})}),
                   "[stack_rows] example 1 is float32 (3,), example 0 is float32 (2,)");
}

TEST(Split, DisjointCoveringAndDeterministic) {
  auto data = numbered(101);
  const auto parts = split(data, {0.7, 0.2, 0.1}, 7);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0]->size(), 71);  // round(70.7)
  EXPECT_EQ(parts[1]->size(), 20);  // round(90.9) - 71
  EXPECT_EQ(parts[2]->size(), 10);
  std::set<int64_t> all;
  for (const auto& p : parts) all.insert(p->indices().begin(), p->indices().end());
  EXPECT_EQ(all.size(), 101u);
  EXPECT_EQ(split(data, {0.7, 0.2, 0.1}, 7)[1]->indices(), parts[1]->indices());
  EXPECT_NE(split(data, {0.7, 0.2, 0.1}, 8)[1]->indices(), parts[1]->indices());
  // Subset rows map back to the base.
  const Example e = parts[2]->get(0);
  EXPECT_EQ(e.y.item(), static_cast<double>(parts[2]->indices()[0]));
  const Example all_rows = materialize(*parts[2]);
  EXPECT_EQ(all_rows.y.to_vector<int64_t>(), parts[2]->indices());
  EXPECT_THROW_MSG(split(data, {0.5, 0.4}, 1), "[split] fractions must sum to 1, got [0.5, 0.4] (sum 0.9)");
  EXPECT_THROW_MSG(split(data, {1.5, -0.5}, 1), "[split] fractions must be positive, got [1.5, -0.5]");
  EXPECT_THROW_MSG(Subset(data, {200}), "[Subset] index 200 out of range for a data set of size 101");
}

TEST(DataLoader, BatchesInOrderWithoutShuffle) {
  DataLoader loader(numbered(10), {.batch_size = 4});
  EXPECT_EQ(loader.num_batches(), 3);
  std::vector<int64_t> sizes;
  const auto seen = labels_of_epoch(loader, 0, &sizes);
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4, 2}));
}

TEST(DataLoader, DropLast) {
  DataLoader loader(numbered(10), {.batch_size = 4, .shuffle = true, .drop_last = true});
  EXPECT_EQ(loader.num_batches(), 2);
  std::vector<int64_t> sizes;
  EXPECT_EQ(labels_of_epoch(loader, 0, &sizes).size(), 8u);
  EXPECT_EQ(sizes, (std::vector<int64_t>{4, 4}));
}

TEST(DataLoader, ShuffleIsDeterministicPerSeedAndEpoch) {
  DataLoader a(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 3});
  DataLoader b(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 3});
  DataLoader c(numbered(50), {.batch_size = 8, .shuffle = true, .seed = 4});
  const auto a0 = labels_of_epoch(a, 0), a1 = labels_of_epoch(a, 1);
  EXPECT_EQ(labels_of_epoch(b, 1), a1);  // same epoch, same order, regardless of history
  EXPECT_EQ(labels_of_epoch(b, 0), a0);
  EXPECT_NE(a0, a1);                     // a fresh order each epoch
  EXPECT_NE(labels_of_epoch(c, 0), a0);  // and each seed
  std::vector<int64_t> sorted = a0;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[static_cast<size_t>(i)], i);  // a permutation
  EXPECT_EQ(a.epoch_order(1), a1);
}

TEST(DataLoader, PrefetchGivesTheSameBatches) {
  DataLoaderOptions options{.batch_size = 7, .shuffle = true, .seed = 11};
  DataLoader plain(numbered(100), options);
  options.prefetch = 3;
  DataLoader prefetching(numbered(100), options);
  for (int64_t epoch = 0; epoch < 3; ++epoch) {
    EXPECT_EQ(labels_of_epoch(prefetching, epoch), labels_of_epoch(plain, epoch));
  }
  // Abandon an epoch half-way and start another: stale prefetched batches are dropped.
  prefetching.start_epoch(5);
  Example batch;
  ASSERT_TRUE(prefetching.next(batch));
  EXPECT_EQ(labels_of_epoch(prefetching, 6), labels_of_epoch(plain, 6));
  // next() without start_epoch() starts epoch 0; the destructor then stops a busy worker.
  DataLoader fresh(numbered(100), options);
  ASSERT_TRUE(fresh.next(batch));
  EXPECT_EQ(batch.y.to_vector<int64_t>()[0], plain.epoch_order(0)[0]);
}

// Fails on one index: the error surfaces from next() at that batch, also when prefetching.
class Failing : public Dataset {
 public:
  int64_t size() const override { return 6; }
  Example get(int64_t i) const override {
    FORGE_CHECK(i != 4, "[failing] cannot read example {}", i);
    return {full({1}, static_cast<double>(i)), Tensor()};
  }
};

TEST(DataLoader, ErrorsAreRethrownInOrder) {
  for (int prefetch : {0, 2}) {
    DataLoader loader(std::make_shared<Failing>(), {.batch_size = 2, .prefetch = prefetch});
    Example batch;
    ASSERT_TRUE(loader.next(batch));
    EXPECT_FALSE(batch.y.defined());
    ASSERT_TRUE(loader.next(batch));
    EXPECT_THROW_MSG(loader.next(batch), "[failing] cannot read example 4");
    EXPECT_FALSE(loader.next(batch));
  }
  EXPECT_THROW_MSG(DataLoader(numbered(3), {.batch_size = 0}), "[DataLoader] batch_size must be positive, got 0");
  EXPECT_THROW_MSG(DataLoader(numbered(3), {.prefetch = -1}), "[DataLoader] prefetch must be >= 0, got -1");
}

}  // namespace
}  // namespace forge
