#pragma once
#include <CLI/CLI.hpp>

namespace forge::cli {

// Re-executes the process with OMP_WAIT_POLICY=passive when it is unset: OpenMP reads it once
// at start-up, and spinning waiters collapse when two threads share one physical core.
void ensure_passive_openmp(int argc, char** argv);

// `forge demo`: trains the two-layer network on Fashion-MNIST (see cli/demo.cpp).
void register_demo(CLI::App& app);

}  // namespace forge::cli
