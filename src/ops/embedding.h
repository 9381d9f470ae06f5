#pragma once
// Embedding lookup.
#include "core/tensor.h"

namespace forge {

// Rows of weight [V, D] picked by integer `indices` (any shape, int64/int32): out [..., D].
// Every index must lie in [0, V) ("[embedding] index 10000 out of range for 10000 rows").
// padding_idx in [0, V) marks a row whose gradient stays 0; a negative padding_idx means none.
Tensor embedding(const Tensor& indices, const Tensor& weight, int64_t padding_idx = -1);

}  // namespace forge
