// forge_bench [WORKLOAD|all ...] [--threads N] [--samples N] [--json] [--list]
// forge_bench kernels [--benchmark_filter=REGEX ...]   (Google Benchmark micro-kernels)
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "core/error.h"
#include "core/parallel.h"

int run_kernels(int argc, char** argv);  // kernels.cpp

int main(int argc, char** argv) {
  forge::configure_openmp_wait(argv);  // bounded spin, then sleep (core/parallel.h)
  if (argc > 1 && std::strcmp(argv[1], "kernels") == 0) return run_kernels(argc - 1, argv + 1);
  try {
    return forge::bench::main_entry(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
