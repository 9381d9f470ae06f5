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

}  // namespace forge::cpu
