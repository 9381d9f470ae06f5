// Quantized matvec throughput (Google Benchmark): GB/s of weight bytes streamed for the
// SmolLM2-135M projection sizes, per weight type and kernel path. "hot" reuses one matrix (it
// stays in L2/L3); "stream" cycles through enough copies (>= 64 MiB) that every call reads its
// weights from DRAM, which is the decode regime the ~40 GB/s roofline refers to.
//   ./build/bench/bench_quant --benchmark_filter=q4_1      (FORGE_BENCH_THREADS=2 for two threads)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/random.h"
#include "core/parallel.h"
#include "backend/cpu/quant_packed.h"
#include "ops/quant.h"

namespace {

using forge::DType;
using forge::cpu::QuantIsa;

struct Case {
  const char* name;
  DType type;
};

// The 16-row interleaved layout (quant_packed.h) that the Llama model packs its weights into.
void bench_packed(benchmark::State& state, DType type, int64_t M, int64_t N, int64_t K, bool stream) {
  if (!forge::cpu::packed_quant_supported(type)) {
    state.SkipWithError("packed kernel not supported on this CPU");
    return;
  }
  forge::Generator gen(7);
  forge::Tensor wq = forge::quantize(forge::randn({N, K}, 0.0, 0.02, &gen), type);
  const size_t bytes = forge::nbytes_for(type, N * K);
  const size_t copies = stream ? std::max<size_t>(2, (64u << 20) / bytes + 1) : 1;
  std::vector<forge::cpu::PackedQuantMatrix> mats;
  for (size_t c = 0; c < copies; ++c) mats.push_back(forge::cpu::pack_quant_rows(wq.raw_data(), type, N, K));
  forge::Tensor x = forge::randn({M, K}, 0.0, 1.0, &gen);
  std::vector<float> y(static_cast<size_t>(M * N));
  size_t i = 0;
  for (auto _ : state) {
    forge::cpu::packed_quant_matmul(mats[i], x.data<float>(), M, y.data());
    benchmark::DoNotOptimize(y.data());
    i = (i + 1) % copies;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
  state.counters["GFLOP/s"] = benchmark::Counter(static_cast<double>(2 * M * N * K) * static_cast<double>(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

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

// Prompt processing: M = 512 activation rows against one weight matrix (GFLOP/s counter).
void bench_prefill(benchmark::State& state, DType type, QuantIsa isa, int64_t M, int64_t N, int64_t K) {
  if (!forge::cpu::quant_isa_supported(isa)) {
    state.SkipWithError("ISA not supported on this CPU");
    return;
  }
  forge::Generator gen(9);
  forge::Tensor wq = forge::quantize(forge::randn({N, K}, 0.0, 0.02, &gen), type);
  forge::Tensor x = forge::randn({M, K}, 0.0, 1.0, &gen);
  std::vector<float> y(static_cast<size_t>(M * N));
  for (auto _ : state) {
    forge::cpu::quant_matmul(x.data<float>(), M, K, wq.raw_data(), type, N, nullptr, y.data(), isa);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(static_cast<double>(2 * M * N * K) * static_cast<double>(state.iterations()) / 1e9,
                                                 benchmark::Counter::kIsRate);
}

void register_all() {
  for (const auto& [type, tname] : {std::pair{DType::kQ4_1, "q4_1"}, std::pair{DType::kQ8_0, "q8_0"}}) {
    const std::string name = std::string("prefill/") + tname + "/avx512vnni/512x576x576";
    benchmark::RegisterBenchmark(name.c_str(), [type = type](benchmark::State& s) {
      bench_prefill(s, type, QuantIsa::kAvx512Vnni, 512, 576, 576);
    })->Unit(benchmark::kMillisecond);
  }
  struct PackedCase {
    const char* name;
    DType type;
    int64_t M, N, K;
  };
  for (const PackedCase& c : {PackedCase{"q4_1", DType::kQ4_1, 1, 1536, 576}, PackedCase{"q4_1", DType::kQ4_1, 1, 576, 576},
                              PackedCase{"q8_0", DType::kQ8_0, 1, 49152, 576},
                              PackedCase{"q4_1", DType::kQ4_1, 512, 576, 576}}) {
    for (bool stream : {false, true}) {
      if (c.M > 1 && stream) continue;
      const std::string name = std::string(c.M > 1 ? "prefill/" : "matvec/") + c.name + "/packed/" +
                               (c.M > 1 ? std::to_string(c.M) + "x" : "") + std::to_string(c.N) + "x" +
                               std::to_string(c.K) + (c.M > 1 ? "" : stream ? "/stream" : "/hot");
      benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& s) {
        bench_packed(s, c.type, c.M, c.N, c.K, stream);
      })->Unit(benchmark::kMicrosecond);
    }
  }
  const Case cases[] = {{"q4_0", DType::kQ4_0}, {"q4_1", DType::kQ4_1}, {"q8_0", DType::kQ8_0},
                        {"q4_k", DType::kQ4_K}, {"q6_k", DType::kQ6_K}};
  const std::pair<QuantIsa, const char*> isas[] = {
      {QuantIsa::kScalar, "scalar"}, {QuantIsa::kAvx2, "avx2"}, {QuantIsa::kAvx512Vnni, "avx512vnni"}};
  for (const auto& c : cases) {
    const bool k_quant = forge::block_size(c.type) == 256;
    // [N, K]: attn_q/attn_output 576x576 and ffn_gate/up 1536x576; K-quants need K % 256 == 0,
    // so they run ffn_down's 576x1536 instead.
    std::vector<std::pair<int64_t, int64_t>> sizes =
        k_quant ? std::vector<std::pair<int64_t, int64_t>>{{576, 1536}}
                : std::vector<std::pair<int64_t, int64_t>>{{576, 576}, {1536, 576}};
    // the tied output head (token_embd, Q8_0 in the SmolLM2 file): 30 MB per token
    if (c.type == DType::kQ8_0) sizes.emplace_back(49152, 576);
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
  if (const char* t = std::getenv("FORGE_BENCH_THREADS")) forge::set_num_threads(std::atoi(t));
  register_all();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
