// `forge bench [WORKLOAD...] [--threads N] [--samples N] [--json] [--list]`: the workload
// benchmarks of src/bench/ (the same code as bench/forge_bench).
#include <memory>
#include <string>
#include <vector>

#include "bench/bench.h"
#include "cli/commands.h"

namespace forge::cli {

namespace {
struct BenchArgs {
  std::vector<std::string> workloads;
  int threads = 1;
  int64_t samples = 0;
  bool json = false;
  bool list = false;
};
}  // namespace

void register_bench(CLI::App& app) {
  auto args = std::make_shared<BenchArgs>();
  CLI::App* sub = app.add_subcommand("bench", "Time the benchmark workloads (training samples/s, latency, SGEMM)");
  sub->add_option("workloads", args->workloads, "workload names (default: all; see --list)");
  sub->add_option("--threads", args->threads, "OpenMP threads (default 1)")->check(CLI::PositiveNumber);
  sub->add_option("--samples", args->samples, "training samples per measured epoch (0 = whole epoch)");
  sub->add_flag("--json", args->json, "one JSON object per workload");
  sub->add_flag("--list", args->list, "list the workloads");
  sub->callback([args] {
    std::vector<std::string> argv = args->workloads;
    argv.insert(argv.end(), {"--threads", std::to_string(args->threads), "--samples", std::to_string(args->samples)});
    if (args->json) argv.push_back("--json");
    if (args->list) argv.push_back("--list");
    bench::main_entry(argv);
  });
}

}  // namespace forge::cli
