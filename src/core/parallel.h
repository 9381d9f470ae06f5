#pragma once
// Threading. Forge uses OpenMP, the same runtime as oneDNN, so kernels and GEMMs share one
// team and never oversubscribe. The default is 1 thread (`--threads` / `[train] threads` raise
// it). Between parallel regions the waiting threads spin for a bounded ~50 us and then sleep
// in the kernel (see configure_openmp_wait): sleeping at once (OMP_WAIT_POLICY=passive) costs a
// futex wake-up per region and made every 2-thread run slower than 1 thread, while spinning for
// libgomp's default ~7 ms burns the sibling vCPU's share of the core when the pool is idle.
#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace forge {

void set_num_threads(int threads);
int num_threads();

// libgomp spin iterations before a waiting thread sleeps: one iteration is one `pause`
// (~23 ns on Zen 5), so 2000 is ~50 us, longer than the gap between two ops of a training
// step or two matmuls of a decoded token, far shorter than any idle period.
inline constexpr int kOpenMpSpinCount = 2000;

// OpenMP reads its wait policy once when the runtime starts. Programs call this first thing in
// main(): when the user set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT it sets GOMP_SPINCOUNT to
// kOpenMpSpinCount and re-executes the program (the only way to apply it); otherwise it returns
// and the user's settings stand.
void configure_openmp_wait(char** argv);

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
