// SmolLM2-135M-Instruct Q4_1 (GGUF) prefill and decode throughput at 1 and 2 threads.
//   ./build/bench_llm [--benchmark_repetitions=5 --benchmark_report_aggregates_only=true]
// The model is found in $FORGE_MODELS_DIR or ./models (scripts/fetch_models.sh).
// BM_AttendCached: one layer's decode attention over 128 / 2048 cached positions.
// BM_DecodeAtContext: one decode step at a fixed context length (64 .. 2048 cached tokens).
// Reported: tokens/s (items_per_second) and, for decode, the weight bytes streamed per second
// (weight bytes per token x tokens/s), to compare with the machine's memory bandwidth.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/parallel.h"
#include "models/llama.h"
#include "models/llm_kernels.h"

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

// Args: threads, context. One decode step at a fixed cache length (the step's row is dropped
// again after each step): how a token's cost grows with the context (attention over the cache).
void BM_DecodeAtContext(benchmark::State& state) {
  forge::set_num_threads(static_cast<int>(state.range(0)));
  const int64_t ctx = state.range(1);
  auto m = model();
  auto cache = m->new_cache(ctx + 1);
  const auto prompt = tokens(ctx);
  std::vector<int32_t> next = {42};
  std::vector<float> logits(static_cast<size_t>(m->vocab_size()));
  const std::vector<forge::llm::SeqChunk> pre{{&prompt, cache.get()}}, step{{&next, cache.get()}};
  m->forward_into(pre, false, logits.data());
  for (auto _ : state) {
    m->forward_into(step, false, logits.data());
    cache->truncate(ctx);
    benchmark::DoNotOptimize(logits.data());
  }
  state.SetItemsProcessed(state.iterations());
  forge::set_num_threads(1);
}
BENCHMARK(BM_DecodeAtContext)
    ->Args({1, 64})
    ->Args({1, 512})
    ->Args({1, 2048})
    ->Args({2, 2048})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(1.0);

// Arg: cached positions. One layer's decode attention of SmolLM2's shape (3 KV heads x 3 query
// heads, head dim 64): reported as the K/V cache bytes read per second.
void BM_AttendCached(benchmark::State& state) {
  const int64_t len = state.range(0), kv = 3, group = 3, hd = 64, stride = kv * hd;
  std::vector<float> k(static_cast<size_t>(len * stride)), v(k.size()), q(static_cast<size_t>(kv * group * hd));
  for (size_t i = 0; i < k.size(); ++i) {
    k[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
    v[i] = static_cast<float>((i * 104729) % 1000) / 1000.0f - 0.5f;
  }
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<float>(i % 17) / 17.0f - 0.5f;
  std::vector<float> scores(static_cast<size_t>(kv * group * len)), out(q.size());
  for (auto _ : state) {
    forge::models::attend_cached(q.data(), kv, group, hd, k.data(), v.data(), stride, len, 0.125f, scores.data(),
                                 out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * 2 * len * stride * static_cast<int64_t>(sizeof(float)));
}
BENCHMARK(BM_AttendCached)->Arg(128)->Arg(2048)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
