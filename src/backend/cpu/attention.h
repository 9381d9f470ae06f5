#pragma once
// CPU kernels for attention.
#include <cstdint>

namespace forge::cpu {

// Row-wise softmax over `rows` contiguous rows of `cols` floats: out[r] = softmax(in[r]).
// With `causal`, row r is query (r % q_len), which sees only columns j <= r % q_len + offset;
// the other columns get probability exactly 0 (as if their score were -inf). A row whose
// scores are all -inf yields NaN, like PyTorch.
void attention_softmax(const float* in, float* out, int64_t rows, int64_t cols, int64_t q_len, bool causal,
                       int64_t offset);

// Decode attention of one query position over `len` cached positions, for `kv_heads` KV heads
// and the `group` query heads sharing each: q and out are [kv_heads * group][hd]; head h's key at
// position s is at k + s * stride + (h / group) * hd (values likewise).
//   scores[h][s] = scale * (q_h . k_s)          (attention_scores)
//   out_h = sum_s p[h][s] * v_s, in order of s  (attention_weighted_sum; out is overwritten)
// Both walk the cache once, 8 positions at a time, with every head passing over those rows while
// they are in L1. Each value is computed the same way whatever `len` is and whichever other heads
// share the call (a score: one accumulator per position, the same reduction tree for every lane;
// an output: one FMA per position, in order). AVX2 for hd % 8 == 0, scalar loops otherwise.
void attention_scores(const float* q, int64_t kv_heads, int64_t group, int64_t hd, const float* k, int64_t stride,
                      int64_t len, float scale, float* scores);
void attention_weighted_sum(const float* p, int64_t kv_heads, int64_t group, int64_t hd, const float* v,
                            int64_t stride, int64_t len, float* out);
// Softmax in place of one row of n >= 1 finite scores (exp within ~2 ulp, as exp_approx).
void attention_softmax_row(float* row, int64_t n);

}  // namespace forge::cpu
