// Kernel-level rows: SGEMM through forge::matmul next to oneDNN called directly (the wrapper
// must cost nothing), and the fixed cost of one op on tiny tensors with and without autograd.
#include <oneapi/dnnl/dnnl.h>

#include <optional>

#include "autograd/grad_mode.h"
#include "bench/common.h"
#include "bench/workloads.h"
#include "core/random.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"

namespace forge::bench {

namespace {

// Repetitions so that one timed batch lasts about 0.3 s at ~200 GFLOP/s.
int sgemm_reps(int64_t n) {
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
  return std::max(3, static_cast<int>(0.3 * 200e9 / flops));
}

Result sgemm(int64_t n, const Options& options) {
  manual_seed(options.seed);
  Tensor a = rand({n, n}), b = rand({n, n});
  Tensor c = empty({n, n});
  const int reps = sgemm_reps(n);
  const double flops = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n) * reps;
  auto forge_once = [&] { matmul(a, b); };
  auto onednn_once = [&] {
    dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n, 0.0f, c.data<float>(), n);
  };
  forge_once();
  onednn_once();
  // Interleave seven rounds and keep each side's best, so machine noise hits both alike (with
  // three, a neighbour's load on a shared machine still moved the ratio by +-8% at 2 threads).
  double best_forge = 1e30, best_onednn = 1e30;
  for (int round = 0; round < 7; ++round) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) forge_once();
    best_forge = std::min(best_forge, seconds_since(t0));
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) onednn_once();
    best_onednn = std::min(best_onednn, seconds_since(t0));
  }
  Result r = make_result(flops / best_forge / 1e9, "GFLOP/s", true);
  r.extra["onednn_gflops"] = flops / best_onednn / 1e9;
  r.extra["vs_onednn"] = best_onednn / best_forge;
  return r;
}

// ns per `a + b` on 4-element tensors; with autograd the inputs require grad, so every call
// records a node (and frees it when the result dies), like PyTorch's per-op cost.
Result op_overhead(bool with_grad, const Options& options) {
  manual_seed(options.seed);
  Tensor a = rand({4}), b = rand({4});
  if (with_grad) {
    a.set_requires_grad();
    b.set_requires_grad();
  }
  std::optional<NoGradGuard> guard;
  if (!with_grad) guard.emplace();
  const int n = 200000;
  const double us = mean_us(
      [&] {
        for (int i = 0; i < 100; ++i) add(a, b);
      },
      n / 1000, n / 100);
  return make_result(us * 1e3 / 100, "ns", false);
}

}  // namespace

void register_kernel_workloads(Registry& registry) {
  for (int64_t n : {256, 512, 1024, 2048, 4096}) {
    registry.add({"sgemm_" + std::to_string(n),
                  "square SGEMM through forge::matmul (extra: oneDNN dnnl_sgemm alone): GFLOP/s",
                  [n](const Options& o) { return sgemm(n, o); }});
  }
  registry.add({"op_overhead", "a + b on 4-element tensors that require grad (records a node): ns per op",
                [](const Options& o) { return op_overhead(true, o); }});
  registry.add({"op_overhead_nograd", "a + b on 4-element tensors under no-grad: ns per op",
                [](const Options& o) { return op_overhead(false, o); }});
}

}  // namespace forge::bench
