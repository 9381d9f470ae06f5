#include "ops/index.h"

#include <algorithm>

#include "autograd/node.h"
#include "backend/cpu/cast.h"
#include "backend/cpu/index.h"
#include "ops/view.h"

namespace forge {

namespace detail {

Tensor index_as_int64(const Tensor& index, const char* op) {
  FORGE_CHECK(index.defined(), "[{}] index tensor is undefined", op);
  FORGE_CHECK(index.dtype() == DType::kI64 || index.dtype() == DType::kI32, "[{}] index must be int64 or int32, got {}",
              op, dtype_name(index.dtype()));
  return index.dtype() == DType::kI64 ? index.detach().contiguous() : index.to(DType::kI64);
}

void check_index_range(const Tensor& index64, int64_t limit, const char* op, const std::string& what) {
  const int64_t* p = index64.data<int64_t>();
  const int64_t n = index64.numel();
  for (int64_t i = 0; i < n; ++i) {
    FORGE_CHECK(p[i] >= 0 && p[i] < limit, "[{}] index {} out of range for {}", op, p[i], what);
  }
}

}  // namespace detail

namespace {

Tensor float_input(const Tensor& x, const char* op, const char* role) {
  FORGE_CHECK(x.defined(), "[{}] {} is undefined", op, role);
  if (x.dtype() == DType::kF32) return x;
  FORGE_CHECK(!is_quantized(x.dtype()), "[{}] quantized dtype {} needs dequantizing first", op, dtype_name(x.dtype()));
  return x.to(DType::kF32);
}

void check_plain(const Tensor& x, const char* op) {
  FORGE_CHECK(x.defined(), "[{}] input tensor is undefined", op);
  FORGE_CHECK(!is_quantized(x.dtype()), "[{}] quantized dtype {} needs dequantizing first", op, dtype_name(x.dtype()));
}

// Sizes of [outer, n, inner] around `axis`.
struct Around {
  int64_t outer = 1, n = 1, inner = 1;
};
Around around(const Shape& shape, int64_t axis) {
  Around r;
  for (size_t i = 0; i < shape.size(); ++i) {
    const int64_t a = static_cast<int64_t>(i);
    (a < axis ? r.outer : (a == axis ? r.n : r.inner)) *= shape[i];
  }
  return r;
}

std::string axis_range(int64_t axis, int64_t size) { return fmt::format("axis {} of size {}", axis, size); }

}  // namespace

// ---------------------------------------------------------------- concat / stack / split

Tensor concat(const Tensors& xs, int64_t axis) {
  FORGE_CHECK(!xs.empty(), "[concat] needs at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i) {
    FORGE_CHECK(xs[i].defined(), "[concat] tensor {} is undefined", i);
    check_plain(xs[i], "concat");
  }
  const Tensor& first = xs[0];
  FORGE_CHECK(first.dim() > 0, "[concat] cannot concatenate 0-d tensors; use stack");
  const int64_t a = normalize_axis(axis, first.dim(), "concat");
  Shape shape = first.shape();
  std::vector<int64_t> sizes;
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    FORGE_CHECK(x.dim() == first.dim(), "[concat] tensor {} has shape {}, tensor 0 has {} (ranks differ)", i,
                shape_str(x.shape()), shape_str(first.shape()));
    FORGE_CHECK(x.dtype() == first.dtype(), "[concat] tensor {} has dtype {}, tensor 0 has {}", i,
                dtype_name(x.dtype()), dtype_name(first.dtype()));
    for (int64_t d = 0; d < x.dim(); ++d) {
      FORGE_CHECK(d == a || x.size(d) == first.size(d),
                  "[concat] tensor {} has shape {}, tensor 0 has {}: they may differ only along axis {}", i,
                  shape_str(x.shape()), shape_str(first.shape()), a);
    }
    sizes.push_back(x.size(a));
    total += x.size(a);
  }
  shape[static_cast<size_t>(a)] = total;
  Tensor out = empty(shape, first.dtype());
  int64_t offset = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (sizes[i] > 0) cpu::copy_cast(xs[i], out.slice(a, offset, offset + sizes[i]));
    offset += sizes[i];
  }
  if (needs_grad(xs)) {
    record("concat", xs, out, [a, sizes](const Tensors& g) {
      Tensors grads;
      int64_t start = 0;
      for (int64_t n : sizes) {
        grads.push_back(slice(g[0], a, start, start + n));
        start += n;
      }
      return grads;
    });
  }
  return out;
}

Tensor stack(const Tensors& xs, int64_t axis) {
  FORGE_CHECK(!xs.empty(), "[stack] needs at least one tensor");
  for (size_t i = 0; i < xs.size(); ++i) {
    FORGE_CHECK(xs[i].defined(), "[stack] tensor {} is undefined", i);
    FORGE_CHECK(xs[i].shape() == xs[0].shape(), "[stack] tensor {} has shape {}, tensor 0 has {}", i,
                shape_str(xs[i].shape()), shape_str(xs[0].shape()));
  }
  const int64_t a = normalize_axis(axis, xs[0].dim() + 1, "stack");
  Tensors expanded;
  expanded.reserve(xs.size());
  for (const Tensor& x : xs) expanded.push_back(unsqueeze(x, a));
  return concat(expanded, a);
}

Tensors split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis) {
  FORGE_CHECK(x.defined(), "[split] input tensor is undefined");
  FORGE_CHECK(x.dim() > 0, "[split] cannot split a 0-d tensor");
  const int64_t a = normalize_axis(axis, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) {
    FORGE_CHECK(s >= 0, "[split] sizes must be non-negative, got {}", shape_str(sizes));
    total += s;
  }
  FORGE_CHECK(total == x.size(a), "[split] sizes {} add up to {}, but axis {} of {} has size {}", shape_str(sizes),
              total, a, shape_str(x.shape()), x.size(a));
  Tensors parts;
  int64_t start = 0;
  for (int64_t s : sizes) {
    parts.push_back(slice(x, a, start, start + s));
    start += s;
  }
  return parts;
}

Tensors chunk(const Tensor& x, int64_t chunks, int64_t axis) {
  FORGE_CHECK(x.defined(), "[chunk] input tensor is undefined");
  FORGE_CHECK(chunks > 0, "[chunk] chunks must be positive, got {}", chunks);
  FORGE_CHECK(x.dim() > 0, "[chunk] cannot chunk a 0-d tensor");
  const int64_t a = normalize_axis(axis, x.dim(), "chunk");
  const int64_t n = x.size(a);
  if (n == 0) return Tensors{x};
  const int64_t each = (n + chunks - 1) / chunks;
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < n; start += each) sizes.push_back(std::min(each, n - start));
  return split(x, sizes, a);
}

// ---------------------------------------------------------------- index_select / index_add

Tensor index_select(const Tensor& x, int64_t axis, const Tensor& index) {
  check_plain(x, "index_select");
  FORGE_CHECK(x.dim() > 0, "[index_select] cannot index a 0-d tensor");
  const int64_t a = normalize_axis(axis, x.dim(), "index_select");
  Tensor idx = detail::index_as_int64(index, "index_select");
  FORGE_CHECK(idx.dim() <= 1, "[index_select] index must be 1-d, got shape {}", shape_str(idx.shape()));
  detail::check_index_range(idx, x.size(a), "index_select", axis_range(a, x.size(a)));
  idx = idx.reshape({idx.numel()});
  const int64_t k = idx.numel();
  Tensor xc = x.detach().contiguous();
  Shape shape = x.shape();
  shape[static_cast<size_t>(a)] = k;
  Tensor out = empty(shape, x.dtype());
  const Around l = around(x.shape(), a);
  cpu::index_select_rows(xc.raw_data(), out.raw_data(), idx.data<int64_t>(), k, l.outer, l.n, l.inner,
                         block_bytes(x.dtype()));
  if (needs_grad({&x})) {
    record("index_select", {x}, out, [a, idx, from = x.shape()](const Tensors& g) {
      return Tensors{index_add(zeros(from), a, idx, g[0])};
    });
  }
  return out;
}

Tensor index_add(const Tensor& base_in, int64_t axis, const Tensor& index, const Tensor& source_in) {
  Tensor base = float_input(base_in, "index_add", "base");
  Tensor source = float_input(source_in, "index_add", "source");
  FORGE_CHECK(base.dim() > 0, "[index_add] cannot index a 0-d tensor");
  const int64_t a = normalize_axis(axis, base.dim(), "index_add");
  Tensor idx = detail::index_as_int64(index, "index_add");
  FORGE_CHECK(idx.dim() <= 1, "[index_add] index must be 1-d, got shape {}", shape_str(idx.shape()));
  idx = idx.reshape({idx.numel()});
  const int64_t k = idx.numel();
  Shape expected = base.shape();
  expected[static_cast<size_t>(a)] = k;
  FORGE_CHECK(source.shape() == expected,
              "[index_add] source has shape {}, expected {} (base {} with axis {} of length {} = index length)",
              shape_str(source.shape()), shape_str(expected), shape_str(base.shape()), a, k);
  detail::check_index_range(idx, base.size(a), "index_add", axis_range(a, base.size(a)));
  Tensor out = empty(base.shape());
  cpu::copy_cast(base, out);
  Tensor src = source.detach().contiguous();
  const Around l = around(base.shape(), a);
  cpu::index_add_rows(out.data<float>(), src.data<float>(), idx.data<int64_t>(), k, l.outer, l.n, l.inner);
  if (needs_grad({&base, &source})) {
    record("index_add", {base, source}, out, [a, idx, source_grad = source.requires_grad()](const Tensors& g) {
      return Tensors{g[0], source_grad ? index_select(g[0], a, idx) : Tensor()};
    });
  }
  return out;
}

// ---------------------------------------------------------------- gather / scatter_add

Tensor gather(const Tensor& x, int64_t axis, const Tensor& index) {
  check_plain(x, "gather");
  FORGE_CHECK(x.dim() > 0, "[gather] cannot gather from a 0-d tensor");
  const int64_t a = normalize_axis(axis, x.dim(), "gather");
  Tensor idx = detail::index_as_int64(index, "gather");
  FORGE_CHECK(idx.dim() == x.dim(), "[gather] index has shape {} but input has shape {}: ranks must match",
              shape_str(idx.shape()), shape_str(x.shape()));
  for (int64_t d = 0; d < x.dim(); ++d) {
    FORGE_CHECK(d == a || idx.size(d) <= x.size(d), "[gather] index shape {} exceeds input shape {} at axis {}",
                shape_str(idx.shape()), shape_str(x.shape()), d);
  }
  detail::check_index_range(idx, x.size(a), "gather", axis_range(a, x.size(a)));
  Tensor out = empty(idx.shape(), x.dtype());
  cpu::gather(x, a, idx, out);
  if (needs_grad({&x})) {
    record("gather", {x}, out, [a, idx, from = x.shape()](const Tensors& g) {
      return Tensors{scatter_add(zeros(from), a, idx, g[0])};
    });
  }
  return out;
}

Tensor scatter_add(const Tensor& base_in, int64_t axis, const Tensor& index, const Tensor& source_in) {
  Tensor base = float_input(base_in, "scatter_add", "base");
  Tensor source = float_input(source_in, "scatter_add", "source");
  Tensor idx = detail::index_as_int64(index, "scatter_add");
  FORGE_CHECK(idx.dim() == base.dim() && source.dim() == base.dim(),
              "[scatter_add] base {}, index {} and source {} must have the same rank", shape_str(base.shape()),
              shape_str(idx.shape()), shape_str(source.shape()));
  FORGE_CHECK(base.dim() > 0, "[scatter_add] cannot scatter into a 0-d tensor");
  const int64_t a = normalize_axis(axis, base.dim(), "scatter_add");
  for (int64_t d = 0; d < base.dim(); ++d) {
    FORGE_CHECK(idx.size(d) <= source.size(d), "[scatter_add] index shape {} exceeds source shape {} at axis {}",
                shape_str(idx.shape()), shape_str(source.shape()), d);
    FORGE_CHECK(d == a || idx.size(d) <= base.size(d), "[scatter_add] index shape {} exceeds base shape {} at axis {}",
                shape_str(idx.shape()), shape_str(base.shape()), d);
  }
  detail::check_index_range(idx, base.size(a), "scatter_add", axis_range(a, base.size(a)));
  // Only source's leading index-shaped block is used; slicing keeps its gradient zero elsewhere.
  Tensor src = source;
  for (int64_t d = 0; d < src.dim(); ++d) {
    if (src.size(d) != idx.size(d)) src = slice(src, d, 0, idx.size(d));
  }
  Tensor out = empty(base.shape());
  cpu::copy_cast(base, out);
  cpu::scatter_add(out, a, idx, src);
  if (needs_grad({&base, &src})) {
    record("scatter_add", {base, src}, out, [a, idx, source_grad = src.requires_grad()](const Tensors& g) {
      return Tensors{g[0], source_grad ? gather(g[0], a, idx) : Tensor()};
    });
  }
  return out;
}

// ---------------------------------------------------------------- one_hot

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
  Tensor idx = detail::index_as_int64(labels, "one_hot");
  const int64_t* p = idx.data<int64_t>();
  const int64_t n = idx.numel();
  if (num_classes == -1) {
    FORGE_CHECK(n > 0, "[one_hot] cannot infer num_classes from empty labels");
    num_classes = *std::max_element(p, p + n) + 1;
  }
  FORGE_CHECK(num_classes > 0, "[one_hot] num_classes must be positive (or -1 to infer), got {}", num_classes);
  detail::check_index_range(idx, num_classes, "one_hot", fmt::format("{} classes", num_classes));
  Shape shape = idx.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape);
  float* o = out.data<float>();
  for (int64_t i = 0; i < n; ++i) o[i * num_classes + p[i]] = 1.0f;
  return out;
}

}  // namespace forge
