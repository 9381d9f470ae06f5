#include "core/allocator.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace forge {

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kDefaultEnabled = false;
#else
constexpr bool kDefaultEnabled = true;
#endif

// Blocks larger than this are never cached: one-off buffers (a whole data set, its converted
// copies) would otherwise stay resident; per-step activations of the seed models are far smaller.
constexpr size_t kMaxCachedBlock = size_t{32} << 20;

// Bucket size: multiples of 64 bytes up to 4 KiB, then four buckets per power of two (at most
// 25% slack), so nearby sizes share blocks without wasting much.
size_t bucket_size(size_t nbytes) {
  if (nbytes <= 4096) return (nbytes + 63) / 64 * 64;
  const int top = 63 - __builtin_clzll(nbytes - 1);  // nbytes - 1 < 2^(top+1)
  const size_t step = size_t{1} << (top - 2);
  return (nbytes + step - 1) / step * step;
}

struct Cache {
  std::mutex mutex;
  bool enabled = kDefaultEnabled;
  size_t limit = size_t{256} << 20;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;
  AllocatorStats stats;

  Cache() {
    if (const char* env = std::getenv("FORGE_CACHING_ALLOCATOR")) enabled = std::strcmp(env, "0") != 0;
  }
  // Caller holds the mutex.
  void release_all() {
    for (auto& [size, blocks] : free_blocks) {
      for (void* p : blocks) std::free(p);
    }
    free_blocks.clear();
    stats.cached_bytes = 0;
  }
};

Cache& cache() {
  static Cache* c = new Cache();  // never destroyed: tensors may die during static destruction
  return *c;
}

// Blocks this large (whole data sets, big weight matrices) are backed by 2 MiB transparent huge
// pages where the kernel allows it (THP "madvise" mode is the Debian default): gathering a
// shuffled batch touches one 4 KiB page per row, and each is a TLB miss (a nested page walk in
// a VM); with huge pages the MLP's 64-row gather from Fashion-MNIST took ~25% less time.
constexpr size_t kHugePageBlock = kMaxCachedBlock;
constexpr size_t kHugePage = size_t{2} << 20;

void* system_alloc(size_t bucket, size_t nbytes) {
  void* p = nullptr;
  if (bucket >= kHugePageBlock) {
    const size_t rounded = (bucket + kHugePage - 1) / kHugePage * kHugePage;
    p = std::aligned_alloc(kHugePage, rounded);
    if (p != nullptr) ::madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure is harmless
  } else {
    p = std::aligned_alloc(64, bucket);
  }
  if (p == nullptr) fail("[storage] out of memory allocating {} bytes", nbytes);
  return p;
}

}  // namespace

void* allocate_host(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  const size_t bucket = bucket_size(nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.in_use_bytes += bucket;
    c.stats.peak_in_use_bytes = std::max(c.stats.peak_in_use_bytes, c.stats.in_use_bytes);
    if (c.enabled) {
      auto it = c.free_blocks.find(bucket);
      if (it != c.free_blocks.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        c.stats.cached_bytes -= bucket;
        ++c.stats.hits;
        return p;
      }
    }
    ++c.stats.misses;
  }
  return system_alloc(bucket, nbytes);
}

void free_host(void* data, size_t nbytes) {
  if (data == nullptr) return;
  const size_t bucket = bucket_size(nbytes);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.in_use_bytes -= bucket;
    if (c.enabled && bucket <= kMaxCachedBlock && c.stats.cached_bytes + bucket <= c.limit) {
      c.free_blocks[bucket].push_back(data);
      c.stats.cached_bytes += bucket;
      return;
    }
  }
  std::free(data);
}

void set_caching_allocator_enabled(bool enabled) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.enabled = enabled;
  if (!enabled) c.release_all();
}

bool caching_allocator_enabled() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.enabled;
}

void set_allocator_cache_limit(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.limit = bytes;
  if (c.stats.cached_bytes > bytes) c.release_all();
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.release_all();
}

AllocatorStats allocator_stats() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.stats;
}

void reset_allocator_peak() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  c.stats.peak_in_use_bytes = c.stats.in_use_bytes;
}

}  // namespace forge
