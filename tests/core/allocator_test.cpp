// The caching allocator: blocks are reused across same-size allocations, memory is returned
// on empty_cache(), and disabling it sends every block straight to the system.
#include <gtest/gtest.h>

#include "core/allocator.h"
#include "core/tensor.h"

namespace forge {
namespace {

TEST(CachingAllocator, ReusesFreedBlocksOfTheSameBucket) {
  const bool was = caching_allocator_enabled();
  set_caching_allocator_enabled(true);
  void* first = nullptr;
  {
    Tensor t = empty({1000, 37});
    first = t.raw_data();
  }
  const AllocatorStats before = allocator_stats();
  {
    Tensor t = empty({1000, 37});
    EXPECT_EQ(t.raw_data(), first);
  }
  EXPECT_EQ(allocator_stats().hits, before.hits + 1);
  EXPECT_GT(allocator_stats().cached_bytes, 0u);
  empty_cache();
  EXPECT_EQ(allocator_stats().cached_bytes, 0u);
  set_caching_allocator_enabled(was);
}

TEST(CachingAllocator, TracksBytesInUseAndCanBeDisabled) {
  const bool was = caching_allocator_enabled();
  set_caching_allocator_enabled(false);
  const size_t in_use = allocator_stats().in_use_bytes;
  {
    Tensor t = empty({1 << 16});
    EXPECT_GE(allocator_stats().in_use_bytes, in_use + (size_t{1} << 18));
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.raw_data()) % 64, 0u);
  }
  EXPECT_EQ(allocator_stats().in_use_bytes, in_use);
  EXPECT_EQ(allocator_stats().cached_bytes, 0u);  // nothing kept while disabled
  set_caching_allocator_enabled(was);
}

}  // namespace
}  // namespace forge
