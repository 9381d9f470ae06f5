// Fused decode of the Llama model (llama.h, set_fused_decode): every layer of a step of at most
// kFusedDecodeMaxRows rows inside ONE OpenMP parallel region.
//
// Why: a decoded token of a small model is a few hundred matmuls, norms and attention calls of a
// few microseconds each. With one parallel region per op, the fork/join (waking the team, the
// implicit barrier, the serial code between regions) cost about as much as the matmuls, so a
// second thread barely paid. Here the team is formed once per step; threads meet at a barrier
// between dependent phases and each streams its own contiguous share of every weight matrix.
//
// Phases of a layer (a barrier after each):
//   1. every thread: RMS norm and 8-bit quantization of x into private copies (identical, so no
//      barrier is needed for them); then its share of the q/k/v rows (the three split as one).
//   2. RoPE of the q and k heads, K and V appended to the caches: (row, head) tasks.
//   3. attention: (row, query head) tasks; a thread's consecutive heads of one KV head in one call.
//   4. every thread quantizes the attention output; its share of the o-proj rows, added into x.
//   5. norm and quantization again; its share of gate and up rows (the same rows of both), SiLU.
//   6. every thread quantizes SiLU(gate) * up; its share of the down rows, added into x.
// Then the final norm of the rows whose logits are wanted and the thread's share of the output.
//
// Exactness: each output element goes through the same operations as in the per-op path (the
// packed kernel's rows do not depend on the group range; the row kernels and the attention work
// per row and per head; norms, RoPE, SiLU and residual adds are per element or per row), so the
// logits and the KV cache are bit-identical to it (tests/llm/llama_fused_decode_test.cpp).
#include <omp.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "backend/cpu/quant.h"
#include "backend/cpu/quant_packed.h"
#include "core/parallel.h"
#include "models/llama.h"
#include "models/llama_cache.h"

namespace forge::models {

namespace {

using cpu::BlockQ8A;
using cpu::kPackRows;
using detail::LlamaCache;
using detail::rope_row;

bool fusable(const LinearWeight& w) {
  const DType t = w.weight.dtype();
  return (t == DType::kQ4_0 || t == DType::kQ4_1 || t == DType::kQ8_0) && !w.bias.defined() && !w.transposed &&
         w.in % 32 == 0;
}

// 16-row groups of a weight: the unit of work split over the threads (a packed group, or a tile
// of rows that stays in cache while every activation row passes over it).
int64_t groups_of(const LinearWeight& w) { return (w.out + kPackRows - 1) / kPackRows; }

struct Range {
  int64_t lo, hi;
};
// Thread t's contiguous share of n items.
Range share(int64_t n, int t, int nth) { return {n * t / nth, n * (t + 1) / nth}; }
// The part of `r` (in a concatenation) that falls in the `n` items starting at `offset`.
Range part(Range r, int64_t offset, int64_t n) {
  return {std::clamp(r.lo - offset, int64_t{0}, n), std::clamp(r.hi - offset, int64_t{0}, n)};
}

// The row kernel quant_matmul picks for unpacked weights (linear_into uses the best ISA).
cpu::QuantDotFn row_dot(DType type) {
  switch (cpu::best_quant_isa()) {
    case cpu::QuantIsa::kAvx512Vnni: return cpu::quant_dot_avx512(type);
    case cpu::QuantIsa::kAvx2: return cpu::quant_dot_avx2(type);
    case cpu::QuantIsa::kScalar: break;
  }
  return cpu::quant_dot_scalar(type);
}

// y[m][n] (row stride ldy) = act[m] · W[n] for m < M and the rows n of groups [g.lo, g.hi).
void linear_groups(const LinearWeight& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy, Range g) {
  if (g.lo >= g.hi) return;
  if (w.packed) {
    cpu::packed_matmul_groups(*w.packed, act, M, y, ldy, g.lo, g.hi);
    return;
  }
  const cpu::QuantDotFn dot = row_dot(w.weight.dtype());
  const size_t w_row = nbytes_for(w.weight.dtype(), w.in);
  const auto* wb = static_cast<const uint8_t*>(w.weight.raw_data());
  const int64_t nb = w.in / 32, end = std::min(w.out, g.hi * kPackRows);
  for (int64_t n0 = g.lo * kPackRows; n0 < end; n0 += kPackRows) {
    const int64_t n1 = std::min(end, n0 + kPackRows);
    for (int64_t m = 0; m < M; ++m) {
      for (int64_t n = n0; n < n1; ++n) y[m * ldy + n] = dot(w.in, wb + static_cast<size_t>(n) * w_row, act + m * nb);
    }
  }
}

void quantize_rows(const float* x, int64_t M, int64_t K, BlockQ8A* act) {
  for (int64_t m = 0; m < M; ++m) cpu::quantize_act_q8a(x + m * K, act + m * (K / 32), K);
}

// x[m][n] += h[m][n] for the columns n of groups g (the rows this thread's matmul wrote).
void add_columns(float* x, const float* h, int64_t M, int64_t n, Range g) {
  const int64_t c0 = g.lo * kPackRows, c1 = std::min(n, g.hi * kPackRows);
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t j = c0; j < c1; ++j) x[m * n + j] += h[m * n + j];
  }
}

}  // namespace

bool LlamaModel::fused_weights_supported() const {
  if (!fusable(output_)) return false;
  for (const Layer& L : layers_) {
    for (const LinearWeight* w : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down}) {
      if (!fusable(*w)) return false;
    }
  }
  return true;
}

bool LlamaModel::fused_decode_applies(const std::vector<llm::SeqChunk>& chunks, int64_t rows) const {
  if (!fused_decode_ || !fused_supported_ || rows > kFusedDecodeMaxRows) return false;
  // Chunks the per-op path would attend with GEMMs stay there (same results).
  for (const auto& ch : chunks) {
    if (static_cast<int64_t>(ch.tokens->size()) >= gemm_attention_rows_) return false;
  }
  return true;
}

// Called by forward_into after validation, with x_, pos_, cos_ and sin_ filled for `rows` rows.
void LlamaModel::forward_fused(const std::vector<llm::SeqChunk>& chunks, int64_t rows, bool all_rows, float* logits) {
  const auto& c = config_;
  const int64_t d = c.d_model, hd = c.head_dim, H = c.n_head, KV = c.n_kv_head, half = hd / 2, ff = c.d_ff;
  const int64_t qd = H * hd, kvd = KV * hd, group = H / KV;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

  // Row -> cache, and the rows whose logits are wanted (in output order).
  std::array<LlamaCache*, kFusedDecodeMaxRows> row_cache{};
  std::array<int64_t, kFusedDecodeMaxRows> out_row{};
  int64_t n_out = 0, capacity = 0;
  {
    int64_t r = 0;
    for (const auto& ch : chunks) {
      auto* cache = static_cast<LlamaCache*>(ch.cache);
      capacity = std::max(capacity, cache->capacity());
      for (size_t i = 0; i < ch.tokens->size(); ++i, ++r) {
        row_cache[static_cast<size_t>(r)] = cache;
        if (all_rows) out_row[static_cast<size_t>(n_out++)] = r;
      }
      if (!all_rows) out_row[static_cast<size_t>(n_out++)] = r - 1;
    }
  }
  // Per-thread scratch, grown here (nothing allocates inside the parallel region).
  const int threads = num_threads();
  const auto nthreads = static_cast<size_t>(threads);
  if (fused_act_.size() < nthreads) {
    fused_act_.resize(nthreads);
    fused_norm_.resize(nthreads);
    fused_scores_.resize(nthreads);
  }
  const auto act_need = static_cast<size_t>(rows * std::max({d, qd, ff}) / 32);
  for (size_t t = 0; t < nthreads; ++t) {
    if (fused_act_[t].size() < act_need) fused_act_[t].resize(act_need);
    if (fused_norm_[t].size() < static_cast<size_t>(rows * d)) fused_norm_[t].resize(static_cast<size_t>(rows * d));
    if (fused_scores_[t].size() < static_cast<size_t>(H * capacity)) {
      fused_scores_[t].resize(static_cast<size_t>(H * capacity));
    }
  }

#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num(), nth = omp_get_num_threads();
    BlockQ8A* act = fused_act_[static_cast<size_t>(t)].data();
    float* normed = fused_norm_[static_cast<size_t>(t)].data();
    float* scores = fused_scores_[static_cast<size_t>(t)].data();
    float* x = x_.data();
    for (int64_t l = 0; l < c.n_layer; ++l) {
      const Layer& L = layers_[static_cast<size_t>(l)];
      // 1. q, k, v = norm(x) · W{q,k,v}ᵀ: the three matrices' groups split as one list.
      rms_norm_rows(x, rows, d, L.attn_norm.data(), c.rms_eps, normed);
      quantize_rows(normed, rows, d, act);
      {
        const int64_t gq = groups_of(L.wq), gk = groups_of(L.wk), gv = groups_of(L.wv);
        const Range s = share(gq + gk + gv, t, nth);
        linear_groups(L.wq, act, rows, q_.data(), qd, part(s, 0, gq));
        linear_groups(L.wk, act, rows, k_.data(), kvd, part(s, gq, gk));
        linear_groups(L.wv, act, rows, v_.data(), kvd, part(s, gq + gk, gv));
      }
#pragma omp barrier
      // 2. RoPE; K and V into each row's cache at its position. Tasks: (row, query or KV head).
      {
        const Range s = share(rows * (H + KV), t, nth);
        for (int64_t task = s.lo; task < s.hi; ++task) {
          const int64_t r = task / (H + KV), j = task % (H + KV);
          const float* cs = cos_.data() + r * half;
          const float* sn = sin_.data() + r * half;
          if (j < H) {
            rope_row(q_.data() + r * qd + j * hd, 1, hd, cs, sn, c.rope_halves);
            continue;
          }
          const int64_t kh = j - H, p = pos_[static_cast<size_t>(r)];
          float* kr = k_.data() + r * kvd + kh * hd;
          rope_row(kr, 1, hd, cs, sn, c.rope_halves);
          LlamaCache* cache = row_cache[static_cast<size_t>(r)];
          std::memcpy(cache->k(l, p) + kh * hd, kr, static_cast<size_t>(hd) * sizeof(float));
          std::memcpy(cache->v(l, p) + kh * hd, v_.data() + r * kvd + kh * hd, static_cast<size_t>(hd) * sizeof(float));
        }
      }
#pragma omp barrier
      // 3. Causal attention of each row over its cache. Tasks: (row, query head). A thread's run of
      //    whole KV groups of one row goes in one call, which reads whole cached rows (one
      //    sequential stream); a group split between threads is read by each for its heads.
      {
        const Range s = share(rows * H, t, nth);
        for (int64_t task = s.lo; task < s.hi;) {
          const int64_t r = task / H, h0 = task % H, kh = h0 / group;
          const int64_t avail = std::min(H - h0, s.hi - task);  // this row's heads left in the share
          // the call: kv_heads consecutive KV heads with per_kv query heads each
          const bool whole = h0 % group == 0 && avail >= group;
          const int64_t kv_heads = whole ? avail / group : 1;
          const int64_t per_kv = whole ? group : std::min((kh + 1) * group, h0 + avail) - h0;
          LlamaCache* cache = row_cache[static_cast<size_t>(r)];
          attend_cached(q_.data() + r * qd + h0 * hd, kv_heads, per_kv, hd, cache->k(l, 0) + kh * hd,
                        cache->v(l, 0) + kh * hd, kvd, pos_[static_cast<size_t>(r)] + 1, scale, scores,
                        att_.data() + r * qd + h0 * hd);
          task += kv_heads * per_kv;
        }
      }
#pragma omp barrier
      // 4. x += att · Woᵀ
      quantize_rows(att_.data(), rows, qd, act);
      {
        const Range s = share(groups_of(L.wo), t, nth);
        linear_groups(L.wo, act, rows, h_.data(), d, s);
        add_columns(x, h_.data(), rows, d, s);
      }
#pragma omp barrier
      // 5. gate = SiLU(norm(x) · W_gateᵀ) * (norm(x) · W_upᵀ), the same rows of both per thread.
      rms_norm_rows(x, rows, d, L.ffn_norm.data(), c.rms_eps, normed);
      quantize_rows(normed, rows, d, act);
      {
        const Range s = share(groups_of(L.w_gate), t, nth);
        linear_groups(L.w_gate, act, rows, gate_.data(), ff, s);
        linear_groups(L.w_up, act, rows, up_.data(), ff, s);
        const int64_t n0 = s.lo * kPackRows, n1 = std::min(ff, s.hi * kPackRows);
        for (int64_t r = 0; r < rows && n1 > n0; ++r) {
          silu_mul(gate_.data() + r * ff + n0, up_.data() + r * ff + n0, n1 - n0);
        }
      }
#pragma omp barrier
      // 6. x += gate · W_downᵀ
      quantize_rows(gate_.data(), rows, ff, act);
      {
        const Range s = share(groups_of(L.w_down), t, nth);
        linear_groups(L.w_down, act, rows, h_.data(), d, s);
        add_columns(x, h_.data(), rows, d, s);
      }
#pragma omp barrier
    }
    // Final norm of the wanted rows, then the output projection.
    for (int64_t o = 0; o < n_out; ++o) {
      rms_norm_rows(x + out_row[static_cast<size_t>(o)] * d, 1, d, out_norm_.data(), c.rms_eps, normed + o * d);
    }
    quantize_rows(normed, n_out, d, act);
    linear_groups(output_, act, n_out, logits, c.vocab, share(groups_of(output_), t, nth));
  }
  for (const auto& ch : chunks) {
    static_cast<LlamaCache*>(ch.cache)->size_ += static_cast<int64_t>(ch.tokens->size());
  }
}

}  // namespace forge::models
