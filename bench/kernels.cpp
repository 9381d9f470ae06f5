// Google Benchmark micro-kernels: SGEMM through forge::matmul vs oneDNN alone, tiny-op
// dispatch cost with and without autograd, Linear+ReLU fused vs composed, and the batch-1 GEMV.
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>

#include <vector>

#include "autograd/grad_mode.h"
#include "backend/cpu/gemv.h"
#include "core/parallel.h"
#include "core/random.h"
#include "nn/activation.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/reduce.h"

namespace {

using namespace forge;

void set_flops(benchmark::State& state, double flops_per_iter) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iter / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_sgemm_forge(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor a = rand({n, n}), b = rand({n, n});
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b));
  set_flops(state, 2.0 * n * n * n);
}

void BM_sgemm_onednn(benchmark::State& state) {
  const int64_t n = state.range(0);
  Tensor a = rand({n, n}), b = rand({n, n}), c = empty({n, n});
  for (auto _ : state) {
    dnnl_sgemm('N', 'N', n, n, n, 1.0f, a.data<float>(), n, b.data<float>(), n, 0.0f, c.data<float>(), n);
    benchmark::ClobberMemory();
  }
  set_flops(state, 2.0 * n * n * n);
}

void BM_add_tiny(benchmark::State& state) {
  const bool with_grad = state.range(0) != 0;
  Tensor a = rand({4}), b = rand({4});
  if (with_grad) {
    a.set_requires_grad();
    b.set_requires_grad();
  }
  set_grad_enabled(with_grad);
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b));
  set_grad_enabled(true);
}

// [64, 784] x [128, 784]^T + bias, then ReLU: the MLP's first layer, forward and backward.
void linear_relu_bench(benchmark::State& state, bool fused) {
  const bool backward = state.range(0) != 0;
  Tensor x = rand({64, 784});
  Tensor w = rand({128, 784}, -0.05, 0.05).set_requires_grad();
  Tensor b = zeros({128}).set_requires_grad();
  set_grad_enabled(backward);
  for (auto _ : state) {
    Tensor y = fused ? linear_relu(x, w, b) : relu(linear(x, w, b));
    if (backward) {
      sum(y).backward();
      w.zero_grad();
      b.zero_grad();
    }
    benchmark::DoNotOptimize(y);
  }
  set_grad_enabled(true);
}
void BM_linear_relu_fused(benchmark::State& state) { linear_relu_bench(state, true); }
void BM_linear_relu_composed(benchmark::State& state) { linear_relu_bench(state, false); }

// y = W x + b for the MLP's first layer (W [128, 784], 401 KB, resident in L2 after the first
// iteration): bytes_per_second is the weight stream.
void BM_gemv_784x128(benchmark::State& state) {
  Tensor w = rand({128, 784}), x = rand({784}), b = rand({128});
  std::vector<float> y(128);
  for (auto _ : state) {
    cpu::gemv_rows(128, 784, x.data<float>(), w.data<float>(), 784, b.data<float>(), y.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * 128 * 784 * 4);
}

BENCHMARK(BM_sgemm_forge)->RangeMultiplier(2)->Range(256, 4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sgemm_onednn)->RangeMultiplier(2)->Range(256, 4096)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_add_tiny)->Arg(0)->Arg(1);
BENCHMARK(BM_linear_relu_fused)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_linear_relu_composed)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_gemv_784x128)->Unit(benchmark::kMicrosecond);

}  // namespace

int run_kernels(int argc, char** argv) {
  forge::set_num_threads(1);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
