// SmolLM2-135M-Instruct Q4_1 (GGUF) prefill and decode throughput at 1 and 2 threads.
//   ./build/bench_llm [--benchmark_repetitions=5 --benchmark_report_aggregates_only=true]
// The model is found in $FORGE_MODELS_DIR or ./models (scripts/fetch_models.sh).
// Reported: tokens/s (items_per_second) and, for decode, the weight bytes streamed per second
// (weight bytes per token x tokens/s), to compare with the machine's memory bandwidth.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "models/llama.h"

namespace {

std::shared_ptr<forge::models::LlamaModel> model() {
  static std::shared_ptr<forge::models::LlamaModel> m = [] {
    const char* dir = std::getenv("FORGE_MODELS_DIR");
    const std::string root = dir ? dir : "models";
    return forge::models::load_llama_gguf(root + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf");
  }();
  return m;
}

std::vector<int32_t> tokens(int64_t n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = static_cast<int32_t>(100 + (i * 7919) % 40000);
  return t;
}

void BM_Prefill(benchmark::State& state) {
  forge::set_num_threads(static_cast<int>(state.range(0)));
  const int64_t n = state.range(1);
  auto m = model();
  auto cache = m->new_cache(n);
  const auto prompt = tokens(n);
  std::vector<float> logits(static_cast<size_t>(m->vocab_size()));
  const std::vector<forge::llm::SeqChunk> chunk{{&prompt, cache.get()}};
  for (auto _ : state) {
    cache->truncate(0);
    m->forward_into(chunk, false, logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetItemsProcessed(state.iterations() * n);
  forge::set_num_threads(1);
}
BENCHMARK(BM_Prefill)
    ->Args({1, 128})
    ->Args({2, 128})
    ->Args({1, 512})
    ->Args({2, 512})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Args: threads, fused decode (1: LlamaModel's default one-parallel-region step, 0: per-op path).
void BM_Decode(benchmark::State& state) {
  forge::set_num_threads(static_cast<int>(state.range(0)));
  auto m = model();
  m->set_fused_decode(state.range(1) != 0);
  constexpr int64_t kPrompt = 32, kCap = 256;
  auto cache = m->new_cache(kCap);
  const auto prompt = tokens(kPrompt);
  std::vector<int32_t> next = {42};
  std::vector<float> logits(static_cast<size_t>(m->vocab_size()));
  const std::vector<forge::llm::SeqChunk> pre{{&prompt, cache.get()}}, step{{&next, cache.get()}};
  m->forward_into(pre, false, logits.data());
  for (auto _ : state) {
    if (cache->size() >= kCap) {
      state.PauseTiming();
      cache->truncate(kPrompt);
      state.ResumeTiming();
    }
    m->forward_into(step, false, logits.data());
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["weight_GB/s"] =
      benchmark::Counter(static_cast<double>(m->weight_bytes()) * static_cast<double>(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
  m->set_fused_decode(true);
  forge::set_num_threads(1);
}
BENCHMARK(BM_Decode)
    ->Args({1, 1})
    ->Args({2, 1})
    ->Args({1, 0})
    ->Args({2, 0})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(2.0);

}  // namespace

BENCHMARK_MAIN();
