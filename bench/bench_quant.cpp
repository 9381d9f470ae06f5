// Quantized matvec throughput (Google Benchmark): GB/s of weight bytes streamed for the
// SmolLM2-135M projection sizes, per weight type and kernel path. "hot" reuses one matrix (it
// stays in L2/L3); "stream" cycles through enough copies (>= 64 MiB) that every call reads its
// weights from DRAM, which is the decode regime the ~40 GB/s roofline refers to.
//   ./build/bench_quant --benchmark_filter=q4_1
#include <benchmark/benchmark.h>

#include <vector>

#include "core/random.h"
#include "core/parallel.h"
#include "ops/quant.h"

namespace {

using forge::DType;
using forge::cpu::QuantIsa;

struct Case {
  const char* name;
  DType type;
};

void bench_matvec(benchmark::State& state, DType type, QuantIsa isa, int64_t N, int64_t K, bool stream) {
  if (!forge::cpu::quant_isa_supported(isa)) {
    state.SkipWithError("ISA not supported on this CPU");
    return;
  }
  forge::Generator gen(7);
  forge::Tensor w = forge::randn({N, K}, 0.0, 0.02, &gen);
  forge::Tensor wq = forge::quantize(w, type);
  const size_t bytes = forge::nbytes_for(type, N * K);
  const size_t copies = stream ? std::max<size_t>(2, (64u << 20) / bytes + 1) : 1;
  std::vector<std::vector<uint8_t>> mats(copies, std::vector<uint8_t>(bytes));
  for (auto& m : mats) std::memcpy(m.data(), wq.raw_data(), bytes);
  std::vector<float> x(static_cast<size_t>(K)), y(static_cast<size_t>(N));
  for (int64_t k = 0; k < K; ++k) x[static_cast<size_t>(k)] = static_cast<float>(gen.normal());
  size_t i = 0;
  for (auto _ : state) {
    forge::cpu::quant_matmul(x.data(), 1, K, mats[i].data(), type, N, nullptr, y.data(), isa);
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
  state.counters["threads"] = forge::num_threads();
}

void register_all() {
  const Case cases[] = {{"q4_0", DType::kQ4_0}, {"q4_1", DType::kQ4_1}, {"q8_0", DType::kQ8_0},
                        {"q4_k", DType::kQ4_K}, {"q6_k", DType::kQ6_K}};
  const std::pair<QuantIsa, const char*> isas[] = {
      {QuantIsa::kScalar, "scalar"}, {QuantIsa::kAvx2, "avx2"}, {QuantIsa::kAvx512Vnni, "avx512vnni"}};
  for (const auto& c : cases) {
    const bool k_quant = forge::block_size(c.type) == 256;
    // [N, K]: attn_q/attn_output 576x576 and ffn_gate/up 1536x576; K-quants need K % 256 == 0,
    // so they run ffn_down's 576x1536 instead.
    const std::vector<std::pair<int64_t, int64_t>> sizes =
        k_quant ? std::vector<std::pair<int64_t, int64_t>>{{576, 1536}}
                : std::vector<std::pair<int64_t, int64_t>>{{576, 576}, {1536, 576}};
    for (const auto& [isa, isa_name] : isas) {
      for (const auto& [N, K] : sizes) {
        for (bool stream : {false, true}) {
          const std::string name = std::string("matvec/") + c.name + "/" + isa_name + "/" + std::to_string(N) + "x" +
                                   std::to_string(K) + (stream ? "/stream" : "/hot");
          benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) {
            bench_matvec(s, c.type, isa, N, K, stream);
          })->Unit(benchmark::kMicrosecond);
        }
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
