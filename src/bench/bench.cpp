#include "bench/bench.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/workloads.h"
#include "core/error.h"
#include "core/parallel.h"

namespace forge::bench {

void Registry::add(Workload workload) {
  FORGE_CHECK(find(workload.name) == nullptr, "[bench] workload '{}' is registered twice", workload.name);
  workloads_.push_back(std::move(workload));
}

const Workload* Registry::find(const std::string& name) const {
  for (const auto& w : workloads_) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

const Registry& builtin_registry() {
  static const Registry registry = [] {
    Registry r;
    register_kernel_workloads(r);
    register_mlp_workloads(r);
    register_cnn_workloads(r);
    register_lm_workloads(r);
    register_llm_workloads(r);
    // Other branches: add register_<family>_workloads(r) calls here.
    return r;
  }();
  return registry;
}

Result run(const Workload& workload, const Options& options) {
  FORGE_CHECK(options.threads >= 1, "[bench] --threads must be >= 1, got {}", options.threads);
  set_num_threads(options.threads);
  Result result = workload.run(options);
  result.name = workload.name;
  return result;
}

std::string to_json(const Result& result, const Options& options) {
  nlohmann::json j = {{"name", result.name},         {"value", result.value},
                      {"unit", result.unit},         {"higher_is_better", result.higher_is_better},
                      {"threads", options.threads},  {"samples", options.samples},
                      {"extra", result.extra}};
  return j.dump();
}

std::string to_text(const Result& result) {
  std::string extra;
  for (const auto& [k, v] : result.extra) extra += fmt::format("{}{}={:.4g}", extra.empty() ? "" : " ", k, v);
  return fmt::format("{:<22} {:>12.2f} {:<10}{}", result.name, result.value, result.unit,
                     extra.empty() ? "" : "  (" + extra + ")");
}

namespace {

int64_t status_kib(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(key) + ":";
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stoll(line.substr(prefix.size()));
  }
  return -1;
}

}  // namespace

int64_t peak_rss_bytes() { return status_kib("VmHWM") * 1024; }
int64_t current_rss_bytes() { return status_kib("VmRSS") * 1024; }

void reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

int main_entry(const std::vector<std::string>& args) {
  Options options;
  bool json = false, list = false;
  std::vector<std::string> names;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&]() -> std::string {
      FORGE_CHECK(i + 1 < args.size(), "[bench] {} needs a value", a);
      return args[++i];
    };
    if (a == "--threads") {
      options.threads = std::stoi(value());
    } else if (a == "--samples") {
      options.samples = std::stoll(value());
    } else if (a == "--seed") {
      options.seed = std::stoull(value());
    } else if (a == "--json") {
      json = true;
    } else if (a == "--list") {
      list = true;
    } else if (a == "-h" || a == "--help") {
      std::cout << "usage: forge_bench [WORKLOAD|all ...] [--threads N] [--samples N] [--seed N] [--json] [--list]\n"
                   "       forge_bench kernels [Google Benchmark flags]\n";
      list = true;
    } else {
      FORGE_CHECK(a.empty() || a[0] != '-', "[bench] unknown option {}", a);
      names.push_back(a);
    }
  }
  const Registry& registry = builtin_registry();
  if (list) {
    for (const auto& w : registry.all()) std::cout << fmt::format("{:<22} {}\n", w.name, w.description);
    return 0;
  }
  if (names.empty() || (names.size() == 1 && names[0] == "all")) {
    names.clear();
    for (const auto& w : registry.all()) names.push_back(w.name);
  }
  std::vector<const Workload*> selected;
  for (const auto& n : names) {
    const Workload* w = registry.find(n);
    if (w == nullptr) {
      std::string known;
      for (const auto& k : registry.all()) known += (known.empty() ? "" : ", ") + k.name;
      fail("[bench] unknown workload '{}'; known: {}", n, known);
    }
    selected.push_back(w);
  }
  for (const Workload* w : selected) {
    Result r = run(*w, options);
    std::cout << (json ? to_json(r, options) : to_text(r)) << std::endl;
  }
  return 0;
}

}  // namespace forge::bench
