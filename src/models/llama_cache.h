#pragma once
// Internal to the Llama model (llama.cpp, llama_decode.cpp) and its tests: the KV cache class
// and the rotary embedding of one row.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "llm/causal_lm.h"

namespace forge::models::detail {

// K and V for every layer and position of one sequence: [layer][pos][kv_dim], allocated once.
class LlamaCache final : public llm::KvCache {
 public:
  LlamaCache(const void* owner, int64_t layers, int64_t capacity, int64_t kv_dim)
      : owner_(owner),
        capacity_(capacity),
        kv_dim_(kv_dim),
        k_(static_cast<size_t>(layers * capacity * kv_dim)),
        v_(static_cast<size_t>(layers * capacity * kv_dim)) {}
  int64_t size() const override { return size_; }
  int64_t capacity() const override { return capacity_; }
  void truncate(int64_t n) override {
    FORGE_CHECK(n >= 0, "[kv_cache] truncate to a negative size {}", n);
    size_ = std::min(size_, n);
  }
  float* k(int64_t layer, int64_t pos) { return k_.data() + (layer * capacity_ + pos) * kv_dim_; }
  float* v(int64_t layer, int64_t pos) { return v_.data() + (layer * capacity_ + pos) * kv_dim_; }

  const void* owner_;
  int64_t size_ = 0;
  int64_t capacity_;
  int64_t kv_dim_;
  std::vector<float> k_, v_;
};

// Rotates `heads` consecutive heads of hd values at one position (cs, sn: [hd / 2] cos and sin);
// `halves` pairs x[i] with x[i + hd/2] (Hugging Face), else x[2i] with x[2i+1] (GGUF).
inline void rope_row(float* x, int64_t heads, int64_t hd, const float* cs, const float* sn, bool halves) {
  const int64_t half = hd / 2;
  for (int64_t h = 0; h < heads; ++h) {
    float* p = x + h * hd;
    for (int64_t j = 0; j < half; ++j) {
      float* a = halves ? p + j : p + 2 * j;
      float* b = halves ? p + j + half : p + 2 * j + 1;
      const float x0 = *a, x1 = *b;
      *a = x0 * cs[j] - x1 * sn[j];
      *b = x0 * sn[j] + x1 * cs[j];
    }
  }
}

}  // namespace forge::models::detail
