#include <unistd.h>

#include <cstdlib>

#include "cli/commands.h"

namespace forge::cli {

void ensure_passive_openmp(int argc, char** argv) {
  (void)argc;
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  setenv("OMP_WAIT_POLICY", "passive", 1);
  execv("/proc/self/exe", argv);  // only returns on failure; then carry on as we are
}

}  // namespace forge::cli
