// Decoding a token allocates nothing: every heap allocation in this binary is counted (global
// operator new replaced here, which is why this test has its own binary), and a warmed-up
// LlamaModel::forward_into step must not add any.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "../llm/llm_test_util.h"
#include "core/parallel.h"
#include "models/llama.h"

namespace {
std::atomic<int64_t> g_allocs{0};
}

void* operator new(std::size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
// The nothrow forms too (std::stable_sort's temporary buffer uses them): every form must pair
// with the free() above, or AddressSanitizer reports an operator new / free mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace forge {
namespace {

TEST(DecodeAllocations, NoneAfterWarmup) {
  FORGE_REQUIRE_MODELS();
  auto model = models::load_llama_gguf(test::smollm2_path());
  EXPECT_GT(g_allocs.load(), 0);  // the counter works
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    auto cache = model->new_cache(64);
    std::vector<float> logits(static_cast<size_t>(model->vocab_size()));
    std::vector<int32_t> prompt = {1, 4093, 198, 19556, 30};
    std::vector<int32_t> next = {28};
    const std::vector<llm::SeqChunk> pre{{&prompt, cache.get()}}, step{{&next, cache.get()}};
    model->forward_into(pre, false, logits.data());
    model->forward_into(step, false, logits.data());  // warm-up: buffers grow to their size
    const int64_t before = g_allocs.load();
    for (int i = 0; i < 16; ++i) model->forward_into(step, false, logits.data());
    EXPECT_EQ(g_allocs.load() - before, 0) << "threads " << threads;
    EXPECT_EQ(cache->size(), 5 + 17);
  }
  set_num_threads(1);
}

}  // namespace
}  // namespace forge
