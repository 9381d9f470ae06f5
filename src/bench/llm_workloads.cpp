// The pretrained-model rows of issue 6 (bench/llm_compare.py runs them next to llama.cpp and
// PyTorch): SmolLM2-135M-Instruct Q4_1 decode and 512-token prefill, a streaming-read memory
// bandwidth probe (the limit decode is measured against) and all-MiniLM-L6-v2 embeddings.
// The checkpoints come from $FORGE_MODELS_DIR or ./models (scripts/fetch_models.sh).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bench/common.h"
#include "bench/workloads.h"
#include "core/error.h"
#include "core/parallel.h"
#include "models/bert.h"
#include "models/llama.h"

namespace forge::bench {

namespace {

std::string models_dir() {
  const char* dir = std::getenv("FORGE_MODELS_DIR");
  return dir != nullptr && *dir != '\0' ? dir : "models";
}

std::string smollm2_path() {
  const std::string path = models_dir() + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
  FORGE_CHECK(std::filesystem::exists(path),
              "[bench] {} is missing: run scripts/fetch_models.sh or set FORGE_MODELS_DIR", path);
  return path;
}

std::string minilm_path() {
  const std::string path = models_dir() + "/all-minilm-l6-v2";
  FORGE_CHECK(std::filesystem::exists(path + "/model.safetensors"),
              "[bench] {}/model.safetensors is missing: run scripts/fetch_models.sh or set FORGE_MODELS_DIR", path);
  return path;
}

// Deterministic token ids in [100, 40100): the same rule as bench/llm_compare.py's notes (the
// ids do not change the cost of a forward pass; llama-bench uses random ids too).
std::vector<int32_t> llm_tokens(int64_t n) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[static_cast<size_t>(i)] = static_cast<int32_t>(100 + (i * 7919) % 40000);
  return t;
}

constexpr int kReps = 5;  // llama-bench's default repetitions

// Mean of per-repetition tokens/s, like llama-bench's avg_ts, after one warm-up repetition.
template <typename F>
double mean_rate(int64_t items, F&& rep) {
  rep();
  double sum = 0;
  for (int r = 0; r < kReps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    rep();
    sum += static_cast<double>(items) / seconds_since(t0);
  }
  return sum / kReps;
}

// llama-bench -p 0 -n 128: 128 single-token steps from an empty cache.
Result llm_decode(const Options&) {
  auto model = models::load_llama_gguf(smollm2_path());
  constexpr int64_t kTokens = 128;
  auto cache = model->new_cache(kTokens);
  std::vector<int32_t> step(1);
  std::vector<float> logits(static_cast<size_t>(model->vocab_size()));
  const std::vector<llm::SeqChunk> chunk{{&step, cache.get()}};
  const auto ids = llm_tokens(kTokens);
  const double tps = mean_rate(kTokens, [&] {
    cache->truncate(0);
    for (int64_t i = 0; i < kTokens; ++i) {
      step[0] = ids[static_cast<size_t>(i)];
      model->forward_into(chunk, false, logits.data());
    }
  });
  Result r = make_result(tps, "tokens/s", true);
  const double bytes = static_cast<double>(model->weight_bytes());
  r.extra["weight_MB"] = bytes / 1e6;
  r.extra["weight_GB_per_s"] = bytes * tps / 1e9;
  return r;
}

// llama-bench -p 512 -n 0: one 512-token prompt into an empty cache, logits of the last token.
Result llm_prefill_512(const Options&) {
  auto model = models::load_llama_gguf(smollm2_path());
  constexpr int64_t kTokens = 512;
  auto cache = model->new_cache(kTokens);
  const auto prompt = llm_tokens(kTokens);
  std::vector<float> logits(static_cast<size_t>(model->vocab_size()));
  const std::vector<llm::SeqChunk> chunk{{&prompt, cache.get()}};
  const double tps = mean_rate(kTokens, [&] {
    cache->truncate(0);
    model->forward_into(chunk, false, logits.data());
  });
  return make_result(tps, "tokens/s", true);
}

// Streaming read of a 512 MiB buffer (far beyond any cache) split over the threads; the best of
// several passes. This is the "measured GB/s" that decode's weight traffic is compared with.
Result mem_bandwidth(const Options&) {
  constexpr size_t kBytes = size_t{512} << 20;
  constexpr size_t kWords = kBytes / sizeof(uint64_t);
  std::unique_ptr<uint64_t[]> buf(new uint64_t[kWords]);
  parallel_for(0, static_cast<int64_t>(kWords), 1 << 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) buf[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
  });
  const int threads = num_threads();
  std::vector<uint64_t> sums(static_cast<size_t>(threads) * 8, 0);
  double best = 0;
  for (int pass = 0; pass < 8; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    parallel_for(0, static_cast<int64_t>(kWords / 8), 1 << 14, [&](int64_t lo, int64_t hi) {
      // Eight independent accumulators: the compiler vectorizes this into wide loads + adds.
      uint64_t a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      const uint64_t* p = buf.get();
      for (int64_t i = lo; i < hi; ++i) {
        for (int k = 0; k < 8; ++k) a[k] += p[static_cast<size_t>(i) * 8 + static_cast<size_t>(k)];
      }
      const size_t slot = static_cast<size_t>(omp_get_thread_num()) % static_cast<size_t>(threads);
      for (int k = 0; k < 8; ++k) sums[slot * 8 + static_cast<size_t>(k)] += a[k];
    });
    best = std::max(best, static_cast<double>(kBytes) / seconds_since(t0) / 1e9);
  }
  uint64_t check = 0;
  for (uint64_t s : sums) check += s;
  Result r = make_result(best, "GB/s", true);
  r.extra["checksum_mod_1000"] = static_cast<double>(check % 1000);  // keeps the reads alive
  return r;
}

// all-MiniLM-L6-v2: batches of 32 inputs of 128 tokens ([CLS] 126 ids [SEP]), pooled and
// normalized embeddings; the same ids as bench/reference/torch_minilm.py.
Result minilm_embed_impl(bool bf16) {
  auto model = models::load_bert(minilm_path());
  model->set_bf16(bf16);
  constexpr int kBatch = 32, kLen = 128;
  std::vector<std::vector<int32_t>> ids(kBatch);
  for (int b = 0; b < kBatch; ++b) {
    ids[static_cast<size_t>(b)].push_back(101);
    for (int i = 0; i < kLen - 2; ++i) ids[static_cast<size_t>(b)].push_back(1000 + (b * 131 + i * 17) % 20000);
    ids[static_cast<size_t>(b)].push_back(102);
  }
  const double eps = mean_rate(kBatch, [&] {
    auto out = model->embed_ids(ids);
    FORGE_CHECK(out.size() == static_cast<size_t>(kBatch), "[bench] minilm_embed: {} embeddings", out.size());
  });
  return make_result(eps, "embeddings/s", true);
}

Result minilm_embed(const Options&) { return minilm_embed_impl(false); }
// The opt-in bf16 GEMM path (BertModel::set_bf16), same batch.
Result minilm_embed_bf16(const Options&) { return minilm_embed_impl(true); }

}  // namespace

void register_llm_workloads(Registry& registry) {
  registry.add({"llm_decode", "SmolLM2-135M Q4_1 decode, batch 1, 128 tokens from an empty cache: tokens/s",
                llm_decode});
  registry.add({"llm_prefill_512", "SmolLM2-135M Q4_1 prompt processing, 512 tokens: tokens/s", llm_prefill_512});
  registry.add({"mem_bandwidth", "streaming read of 512 MiB over the threads, best of 8 passes: GB/s", mem_bandwidth});
  registry.add({"minilm_embed", "all-MiniLM-L6-v2, batch 32 x 128 tokens, pooled + normalized: embeddings/s",
                minilm_embed});
  registry.add({"minilm_embed_bf16", "all-MiniLM-L6-v2 as minilm_embed with opt-in bf16 GEMMs: embeddings/s",
                minilm_embed_bf16});
}

}  // namespace forge::bench
