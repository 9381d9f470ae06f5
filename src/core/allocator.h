#pragma once
// Host memory for tensors: a caching allocator. Freed blocks go to size-bucketed free lists
// and are handed out again to the next request of the same bucket, so a training loop that
// allocates the same activation and gradient buffers every step stops calling malloc/mmap (and
// stops page-faulting fresh pages) after its first step. Thread-safe (one mutex).
//
// Memory goes back to the system when the cache exceeds its limit (the oldest-freed blocks of
// the bucket being returned go first), on empty_cache(), and for blocks too large to cache.
// Disable it (every block straight from/to the system, for ASan/heaptrack runs) with
// FORGE_CACHING_ALLOCATOR=0 in the environment or set_caching_allocator_enabled(false);
// builds with AddressSanitizer default to disabled.
#include <cstddef>
#include <cstdint>

namespace forge {

struct AllocatorStats {
  size_t in_use_bytes = 0;       // handed out, not yet freed (bucket sizes)
  size_t peak_in_use_bytes = 0;  // since start or reset_peak()
  size_t cached_bytes = 0;       // free blocks held for reuse
  uint64_t hits = 0;             // requests served from the cache
  uint64_t misses = 0;           // requests that went to the system
};

// 64-byte aligned block of at least `nbytes` (nullptr for 0). Throws when out of memory.
void* allocate_host(size_t nbytes);
// Returns a block from allocate_host with the same `nbytes`.
void free_host(void* data, size_t nbytes);

void set_caching_allocator_enabled(bool enabled);  // disabling also empties the cache
bool caching_allocator_enabled();
// Upper bound on cached (free) bytes; default 256 MiB (blocks over 32 MiB are never cached).
void set_allocator_cache_limit(size_t bytes);
// Returns every cached block to the system.
void empty_cache();
AllocatorStats allocator_stats();
void reset_allocator_peak();

}  // namespace forge
