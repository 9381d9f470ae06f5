#include "core/parallel.h"

#include <unistd.h>

#include <cstdlib>
#include <string>

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

void configure_openmp_wait(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  setenv("GOMP_SPINCOUNT", std::to_string(kOpenMpSpinCount).c_str(), 1);
  execv("/proc/self/exe", argv);  // only returns on failure; then carry on with the defaults
}

int num_threads() {
  if (!g_initialized) set_num_threads(1);
  return g_threads;
}

}  // namespace forge
