#pragma once
// Whole-workload benchmarks (training throughput, predict latency, SGEMM, per-op overhead,
// peak memory) behind one registry, shared by `bench/forge_bench` and `forge bench`.
//
// Adding a row: write `void register_<family>_workloads(Registry&)` in a new src/bench/*.cpp,
// declare it in src/bench/workloads.h and call it from builtin_registry() (src/bench/bench.cpp).
// bench/compare.py runs each workload in a fresh process (`forge_bench NAME --json`) and pairs
// it with the PyTorch row of the same name in bench/reference/torch_workloads.py.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace forge::bench {

struct Options {
  int threads = 1;
  // Training workloads: samples per measured epoch (0 = the whole training set). Both Forge
  // and the PyTorch reference honour it, so quick runs stay comparable.
  int64_t samples = 0;
  uint64_t seed = 0;
};

struct Result {
  std::string name;
  double value = 0;
  std::string unit;               // "samples/s", "us", "GFLOP/s", "ns", "MiB"
  bool higher_is_better = true;
  std::map<std::string, double> extra;  // secondary numbers (accuracy, oneDNN alone, ...)
};

inline Result make_result(double value, std::string unit, bool higher_is_better) {
  Result r;
  r.value = value;
  r.unit = std::move(unit);
  r.higher_is_better = higher_is_better;
  return r;
}

struct Workload {
  std::string name;  // "mlp_train", "cnn_latency", ...: the row key shared with the reference
  std::string description;
  std::function<Result(const Options&)> run;
};

class Registry {
 public:
  // Throws when the name is already taken.
  void add(Workload workload);
  const std::vector<Workload>& all() const { return workloads_; }
  // nullptr when unknown.
  const Workload* find(const std::string& name) const;

 private:
  std::vector<Workload> workloads_;
};

// Every built-in workload, registered once.
const Registry& builtin_registry();

// Runs one workload with `options.threads` OpenMP threads; fills result.name.
Result run(const Workload& workload, const Options& options);

// {"name":..,"value":..,"unit":..,"higher_is_better":..,"threads":..,"extra":{..}}
std::string to_json(const Result& result, const Options& options);
// "mlp_train            181234.5 samples/s  (accuracy=0.74)"
std::string to_text(const Result& result);

// Peak resident set size of this process in bytes (VmHWM) and a way to restart the peak from
// the current RSS (writes 5 to /proc/self/clear_refs), so a workload measures its own peak.
int64_t peak_rss_bytes();
int64_t current_rss_bytes();
void reset_peak_rss();

// Shared command line of `forge_bench` and `forge bench`: [WORKLOAD...] [--threads N]
// [--samples N] [--json] [--list]. Returns the exit code. `argv0` is used in messages.
int main_entry(const std::vector<std::string>& args);

}  // namespace forge::bench
