#pragma once
// Threading. Forge uses OpenMP, the same runtime as oneDNN, so kernels and GEMMs share one
// team and never oversubscribe. The default is 1 thread: on the target machine two vCPUs share
// one physical core and a second thread never pays. Waiting threads must not spin there; the
// CLI sets OMP_WAIT_POLICY=passive before the runtime starts (see cli/main.cpp).
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace forge {

void set_num_threads(int threads);
int num_threads();

// Calls fn(begin, end) on disjoint chunks of [begin, end), in parallel when the range has
// at least 2*grain elements and more than one thread is configured.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& fn) {
  const int64_t n = end - begin;
  if (n <= 0) return;
  const int threads = num_threads();
  if (threads <= 1 || n < 2 * grain || omp_in_parallel()) {
    fn(begin, end);
    return;
  }
  const int64_t chunks = std::min<int64_t>(threads, (n + grain - 1) / grain);
#pragma omp parallel for num_threads(static_cast<int>(chunks)) schedule(static)
  for (int64_t c = 0; c < chunks; ++c) {
    const int64_t lo = begin + n * c / chunks;
    const int64_t hi = begin + n * (c + 1) / chunks;
    fn(lo, hi);
  }
}

}  // namespace forge
