#include "ops/embedding.h"

#include "autograd/node.h"
#include "backend/cpu/index.h"
#include "ops/elementwise.h"
#include "ops/index.h"

namespace forge {

Tensor embedding(const Tensor& indices, const Tensor& weight_in, int64_t padding_idx) {
  FORGE_CHECK(weight_in.defined(), "[embedding] weight is undefined");
  FORGE_CHECK(weight_in.dim() == 2, "[embedding] weight must be 2-d [num_embeddings, embedding_dim], got shape {}",
              shape_str(weight_in.shape()));
  FORGE_CHECK(!is_quantized(weight_in.dtype()), "[embedding] quantized weight dtype {} needs dequantizing first",
              dtype_name(weight_in.dtype()));
  const Tensor weight = weight_in.dtype() == DType::kF32 ? weight_in : weight_in.to(DType::kF32);
  const int64_t rows = weight.size(0);
  const int64_t dim = weight.size(1);
  FORGE_CHECK(padding_idx < rows, "[embedding] padding_idx {} out of range for {} rows", padding_idx, rows);
  Tensor idx = detail::index_as_int64(indices, "embedding");
  detail::check_index_range(idx, rows, "embedding", fmt::format("{} rows", rows));
  Shape shape = idx.shape();
  shape.push_back(dim);
  Tensor out = empty(shape);
  const Tensor w = weight.detach().contiguous();
  // A lookup is index_select of rows from a [1, V, D] block.
  cpu::index_select_rows(w.data<float>(), out.data<float>(), idx.data<int64_t>(), idx.numel(), 1, rows, dim,
                         sizeof(float));
  if (needs_grad({&weight})) {
    record("embedding", {weight}, out, [idx, rows, dim, padding_idx](const Tensors& g) {
      const Tensor flat_idx = idx.reshape({idx.numel()});
      Tensor g_rows = g[0].reshape({idx.numel(), dim});
      if (padding_idx >= 0) {
        // Zero the gradient of lookups that hit the padding row: a [M, 1] mask picked by index.
        Tensor keep = ones({rows, 1});
        fill_(keep.select(0, padding_idx), 0.0);
        g_rows = mul(g_rows, index_select(keep, 0, flat_idx));
      }
      return Tensors{index_add(zeros({rows, dim}), 0, flat_idx, g_rows)};
    });
  }
  return out;
}

}  // namespace forge
