#include "core/parallel.h"

#include "core/error.h"

namespace forge {

namespace {
int g_threads = 1;
bool g_initialized = false;
}  // namespace

void set_num_threads(int threads) {
  FORGE_CHECK(threads >= 1, "[threads] thread count must be at least 1, got {}", threads);
  g_threads = threads;
  g_initialized = true;
  omp_set_num_threads(threads);
}

int num_threads() {
  if (!g_initialized) set_num_threads(1);
  return g_threads;
}

}  // namespace forge
