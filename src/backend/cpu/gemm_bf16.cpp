#include "backend/cpu/gemm_bf16.h"

#include <array>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "backend/cpu/dnnl_context.h"
#include "backend/cpu/gemm.h"
#include "core/error.h"
#include "core/parallel.h"

namespace forge::cpu {

namespace {

using dnnl::memory;
using DT = memory::data_type;

using Key = std::array<int64_t, 9>;
struct KeyHash {
  size_t operator()(const Key& key) const {
    size_t h = 1469598103934665603ull;
    for (int64_t v : key) h = (h ^ static_cast<size_t>(v)) * 1099511628211ull;
    return h;
  }
};

// One shape's primitives: f32 -> bf16 reorders of A and B (strided, so transposition costs
// nothing extra) and the bf16 x bf16 -> f32 matmul.
struct Entry {
  memory::desc a_f32, b_f32, a_bf16, b_bf16, c_f32;
  dnnl::primitive to_a, to_b, matmul;
};

constexpr size_t kMaxCached = 1024;
std::mutex g_mutex;
std::unordered_map<Key, std::shared_ptr<const Entry>, KeyHash> g_cache;

memory::desc strided(int64_t rows, int64_t cols, bool trans, int64_t ld, DT dt) {
  // op(X) is rows x cols; X is stored row-major with leading dimension ld.
  return trans ? memory::desc({rows, cols}, dt, memory::dims{1, ld})
               : memory::desc({rows, cols}, dt, memory::dims{ld, 1});
}

std::shared_ptr<const Entry> cached(bool ta, bool tb, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb,
                                    int64_t ldc, bool accumulate) {
  const Key key{ta, tb, m, n, k, lda, ldb, ldc, accumulate};
  std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_cache.find(key);
  if (it != g_cache.end()) return it->second;
  if (g_cache.size() >= kMaxCached) g_cache.clear();
  auto& engine = dnnl_engine();
  auto e = std::make_shared<Entry>();
  e->a_f32 = strided(m, k, ta, lda, DT::f32);
  e->b_f32 = strided(k, n, tb, ldb, DT::f32);
  e->a_bf16 = memory::desc({m, k}, DT::bf16, memory::format_tag::ab);
  e->b_bf16 = memory::desc({k, n}, DT::bf16, memory::format_tag::ab);
  e->c_f32 = memory::desc({m, n}, DT::f32, memory::dims{ldc, 1});
  try {
    e->to_a = dnnl::reorder(dnnl::reorder::primitive_desc(engine, e->a_f32, engine, e->a_bf16));
    e->to_b = dnnl::reorder(dnnl::reorder::primitive_desc(engine, e->b_f32, engine, e->b_bf16));
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops ops;
      ops.append_sum(1.0f);
      attr.set_post_ops(ops);
    }
    dnnl::matmul::desc desc(e->a_bf16, e->b_bf16, e->c_f32);
    e->matmul = dnnl::matmul(dnnl::matmul::primitive_desc(desc, attr, engine));
  } catch (const dnnl::error& err) {
    fail("[matmul] oneDNN could not create a bf16 matmul for M={} N={} K={}: {}", m, n, k, err.what());
  }
  g_cache.emplace(key, e);
  return e;
}

// Per-thread bf16 staging buffers (grown, never shrunk).
struct Buffer {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data;
  size_t bytes = 0;
  void* get(size_t n) {
    if (n > bytes) {
      data.reset(std::aligned_alloc(64, (n + 63) / 64 * 64));
      FORGE_CHECK(data != nullptr, "[matmul] out of memory allocating {} bytes of bf16 staging", n);
      bytes = n;
    }
    return data.get();
  }
};

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
               int64_t ldb, float beta, float* c, int64_t ldc) {
  FORGE_CHECK(beta == 0.0f || beta == 1.0f, "[matmul] bf16 GEMM supports beta 0 or 1, got {}", beta);
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0f)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = 0.0f;
    return;
  }
  num_threads();  // configure the OpenMP team before oneDNN reads it
  auto e = cached(trans_a, trans_b, m, n, k, lda, ldb, ldc, beta != 0.0f);
  thread_local std::array<Buffer, 2> staging;
  auto& engine = dnnl_engine();
  auto& stream = dnnl_stream();
  memory a_user(e->a_f32, engine, const_cast<float*>(a));
  memory b_user(e->b_f32, engine, const_cast<float*>(b));
  memory a16(e->a_bf16, engine, staging[0].get(e->a_bf16.get_size()));
  memory b16(e->b_bf16, engine, staging[1].get(e->b_bf16.get_size()));
  memory c_user(e->c_f32, engine, c);
  e->to_a.execute(stream, {{DNNL_ARG_FROM, a_user}, {DNNL_ARG_TO, a16}});
  e->to_b.execute(stream, {{DNNL_ARG_FROM, b_user}, {DNNL_ARG_TO, b16}});
  e->matmul.execute(stream, {{DNNL_ARG_SRC, a16}, {DNNL_ARG_WEIGHTS, b16}, {DNNL_ARG_DST, c_user}});
  stream.wait();
}

void gemm(bool bf16, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (bf16 && alpha == 1.0f && (beta == 0.0f || beta == 1.0f)) {
    gemm_bf16(trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace forge::cpu
