#include "ops/view.h"

#include <algorithm>
#include <numeric>

#include "autograd/node.h"
#include "backend/cpu/cast.h"
#include "ops/reduce.h"

namespace forge {

namespace {

Shape infer_shape(const Shape& requested, int64_t numel, const Shape& from) {
  Shape shape = requested;
  int64_t known = 1;
  int64_t infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      FORGE_CHECK(infer < 0, "[reshape] only one dimension can be -1, got {}", shape_str(requested));
      infer = static_cast<int64_t>(i);
    } else {
      FORGE_CHECK(shape[i] >= 0, "[reshape] invalid dimension {} in {}", shape[i], shape_str(requested));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    FORGE_CHECK(known != 0 && numel % known == 0, "[reshape] cannot reshape {} ({} elements) into {}",
                shape_str(from), numel, shape_str(requested));
    shape[static_cast<size_t>(infer)] = numel / known;
  }
  FORGE_CHECK(numel_of(shape) == numel, "[reshape] cannot reshape {} ({} elements) into {}", shape_str(from), numel,
              shape_str(requested));
  return shape;
}

// Strides for viewing x as `shape` without a copy, or empty if impossible (PyTorch's rule:
// each group of new axes must map onto a run of old axes that is contiguous in memory).
Shape view_strides(const Tensor& x, const Shape& shape) {
  if (x.is_contiguous()) return contiguous_strides(shape);
  const Shape& old_shape = x.shape();
  const Shape& old_strides = x.strides();
  Shape strides(shape.size());
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.empty() ? 1 : old_strides.back();
  int64_t tensor_numel = 1;
  int64_t view_numel = 1;
  for (int64_t tensor_d = static_cast<int64_t>(old_shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[static_cast<size_t>(tensor_d)];
    if (tensor_d == 0 ||
        (old_shape[static_cast<size_t>(tensor_d - 1)] != 1 &&
         old_strides[static_cast<size_t>(tensor_d - 1)] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[static_cast<size_t>(view_d)] == 1)) {
        strides[static_cast<size_t>(view_d)] = view_numel * chunk_base_stride;
        view_numel *= shape[static_cast<size_t>(view_d)];
        --view_d;
      }
      if (view_numel != tensor_numel) return {};
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[static_cast<size_t>(tensor_d - 1)];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return {};
  return strides;
}

Tensor make_reshape_view(const Tensor& x, const Shape& shape, const Shape& strides) {
  Tensor out = make_view(x, shape, strides, x.offset());
  if (needs_grad({&x})) {
    record("reshape", {x}, out, [from = x.shape()](const Tensors& g) { return Tensors{reshape(g[0], from)}; });
  }
  return out;
}

}  // namespace

Tensor reshape(const Tensor& x, const Shape& requested) {
  const Shape shape = infer_shape(requested, x.numel(), x.shape());
  if (shape == x.shape()) return x;
  Shape strides = view_strides(x, shape);
  if (strides.empty() && !shape.empty()) return make_reshape_view(contiguous(x), shape, contiguous_strides(shape));
  return make_reshape_view(x, shape, strides);
}

Tensor view(const Tensor& x, const Shape& requested) {
  const Shape shape = infer_shape(requested, x.numel(), x.shape());
  Shape strides = view_strides(x, shape);
  FORGE_CHECK(!strides.empty() || shape.empty(),
              "[view] a tensor of shape {} with strides {} cannot be viewed as {} without a copy; use reshape",
              shape_str(x.shape()), shape_str(x.strides()), shape_str(shape));
  return make_reshape_view(x, shape, strides);
}

Tensor permute(const Tensor& x, const Shape& axes) {
  const int64_t nd = x.dim();
  FORGE_CHECK(static_cast<int64_t>(axes.size()) == nd, "[permute] {} axes given for a {}-d tensor", axes.size(), nd);
  Shape shape(axes.size()), strides(axes.size()), inverse(axes.size());
  std::vector<bool> seen(axes.size(), false);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = normalize_axis(axes[i], nd, "permute");
    FORGE_CHECK(!seen[static_cast<size_t>(a)], "[permute] axis {} repeated in {}", a, shape_str(axes));
    seen[static_cast<size_t>(a)] = true;
    shape[i] = x.shape()[static_cast<size_t>(a)];
    strides[i] = x.strides()[static_cast<size_t>(a)];
    inverse[static_cast<size_t>(a)] = static_cast<int64_t>(i);
  }
  Tensor out = make_view(x, shape, strides, x.offset());
  if (needs_grad({&x})) {
    record("permute", {x}, out, [inverse](const Tensors& g) { return Tensors{permute(g[0], inverse)}; });
  }
  return out;
}

Tensor transpose(const Tensor& x, int64_t a, int64_t b) {
  const int64_t nd = x.dim();
  a = normalize_axis(a, nd, "transpose");
  b = normalize_axis(b, nd, "transpose");
  Shape axes(static_cast<size_t>(nd));
  std::iota(axes.begin(), axes.end(), 0);
  std::swap(axes[static_cast<size_t>(a)], axes[static_cast<size_t>(b)]);
  return permute(x, axes);
}

namespace {
// The gradient of slice: g placed into zeros of the input's shape. Differentiable (its
// backward is the slice again), so slicing works under create_graph.
Tensor slice_scatter(const Tensor& g, const Shape& shape, int64_t axis, int64_t start, int64_t end, int64_t step) {
  Tensor out = zeros(shape);
  cpu::copy_cast(g, slice(out.detach(), axis, start, end, step));
  if (needs_grad({&g})) {
    record("slice_backward", {g}, out, [axis, start, end, step](const Tensors& gg) {
      return Tensors{slice(gg[0], axis, start, end, step)};
    });
  }
  return out;
}
}  // namespace

Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end, int64_t step) {
  const int64_t a = normalize_axis(axis, x.dim(), "slice");
  FORGE_CHECK(x.dim() > 0, "[slice] cannot slice a 0-d tensor");
  FORGE_CHECK(step >= 1, "[slice] step must be >= 1, got {}", step);
  const int64_t size = x.shape()[static_cast<size_t>(a)];
  auto clamp_index = [size](int64_t i) {
    if (i < 0) i += size;
    return std::clamp<int64_t>(i, 0, size);
  };
  start = clamp_index(start);
  end = std::max(clamp_index(end), start);
  Shape shape = x.shape();
  Shape strides = x.strides();
  shape[static_cast<size_t>(a)] = (end - start + step - 1) / step;
  strides[static_cast<size_t>(a)] *= step;
  Tensor out = make_view(x, shape, strides, x.offset() + start * x.strides()[static_cast<size_t>(a)]);
  if (needs_grad({&x})) {
    record("slice", {x}, out, [from = x.shape(), a, start, end, step](const Tensors& g) {
      return Tensors{slice_scatter(g[0], from, a, start, end, step)};
    });
  }
  return out;
}

Tensor select(const Tensor& x, int64_t axis, int64_t index) {
  const int64_t a = normalize_axis(axis, x.dim(), "select");
  const int64_t size = x.shape()[static_cast<size_t>(a)];
  FORGE_CHECK(index >= -size && index < size, "[select] index {} out of range for axis {} of size {}", index, a,
              size);
  if (index < 0) index += size;
  return squeeze(slice(x, a, index, index + 1), a);
}

Tensor squeeze(const Tensor& x, int64_t axis) {
  const int64_t a = normalize_axis(axis, x.dim(), "squeeze");
  FORGE_CHECK(x.shape()[static_cast<size_t>(a)] == 1, "[squeeze] axis {} has size {}, not 1 (shape {})", a,
              x.shape()[static_cast<size_t>(a)], shape_str(x.shape()));
  Shape shape = x.shape();
  Shape strides = x.strides();
  shape.erase(shape.begin() + a);
  strides.erase(strides.begin() + a);
  return make_reshape_view(x, shape, strides);
}

Tensor unsqueeze(const Tensor& x, int64_t axis) {
  const int64_t a = normalize_axis(axis, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape();
  Shape strides = x.strides();
  const int64_t stride = a < x.dim() ? strides[static_cast<size_t>(a)] * shape[static_cast<size_t>(a)] : 1;
  shape.insert(shape.begin() + a, 1);
  strides.insert(strides.begin() + a, stride);
  return make_reshape_view(x, shape, strides);
}

Tensor expand(const Tensor& x, const Shape& requested) {
  const int64_t nd = static_cast<int64_t>(requested.size());
  FORGE_CHECK(nd >= x.dim(), "[expand] cannot expand {} to fewer dimensions {}", shape_str(x.shape()),
              shape_str(requested));
  const int64_t lead = nd - x.dim();
  Shape shape(requested.size()), strides(requested.size());
  for (int64_t i = 0; i < nd; ++i) {
    const size_t si = static_cast<size_t>(i);
    if (i < lead) {
      FORGE_CHECK(requested[si] >= 0, "[expand] new leading axis {} needs an explicit size", i);
      shape[si] = requested[si];
      strides[si] = 0;
      continue;
    }
    const size_t xi = static_cast<size_t>(i - lead);
    const int64_t have = x.shape()[xi];
    const int64_t want = requested[si] == -1 ? have : requested[si];
    FORGE_CHECK(have == want || have == 1, "[expand] cannot expand {} to {}: axis {} has size {}",
                shape_str(x.shape()), shape_str(requested), i, have);
    shape[si] = want;
    strides[si] = have == want ? x.strides()[xi] : 0;
  }
  if (shape == x.shape()) return x;
  Tensor out = make_view(x, shape, strides, x.offset());
  if (needs_grad({&x})) {
    record("expand", {x}, out, [from = x.shape()](const Tensors& g) { return Tensors{sum_to(g[0], from)}; });
  }
  return out;
}

Tensor flatten(const Tensor& x, int64_t start_axis, int64_t end_axis) {
  if (x.dim() == 0) return reshape(x, {1});
  const int64_t s = normalize_axis(start_axis, x.dim(), "flatten");
  const int64_t e = normalize_axis(end_axis, x.dim(), "flatten");
  FORGE_CHECK(s <= e, "[flatten] start axis {} is after end axis {}", start_axis, end_axis);
  Shape shape;
  for (int64_t i = 0; i < s; ++i) shape.push_back(x.shape()[static_cast<size_t>(i)]);
  int64_t merged = 1;
  for (int64_t i = s; i <= e; ++i) merged *= x.shape()[static_cast<size_t>(i)];
  shape.push_back(merged);
  for (int64_t i = e + 1; i < x.dim(); ++i) shape.push_back(x.shape()[static_cast<size_t>(i)]);
  return reshape(x, shape);
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return x.clone();
}

// ---- Tensor methods

Tensor Tensor::reshape(const Shape& shape) const { return forge::reshape(*this, shape); }
Tensor Tensor::view(const Shape& shape) const { return forge::view(*this, shape); }
Tensor Tensor::permute(const Shape& axes) const { return forge::permute(*this, axes); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return forge::transpose(*this, a, b); }
Tensor Tensor::t() const {
  FORGE_CHECK(dim() >= 2, "[t] needs at least 2 dimensions, got shape {}", shape_str(shape()));
  return forge::transpose(*this, -2, -1);
}
Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  return forge::slice(*this, axis, start, end, step);
}
Tensor Tensor::select(int64_t axis, int64_t index) const { return forge::select(*this, axis, index); }
Tensor Tensor::squeeze(int64_t axis) const { return forge::squeeze(*this, axis); }
Tensor Tensor::squeeze() const {
  Shape shape;
  for (int64_t d : this->shape()) {
    if (d != 1) shape.push_back(d);
  }
  return forge::reshape(*this, shape);
}
Tensor Tensor::unsqueeze(int64_t axis) const { return forge::unsqueeze(*this, axis); }
Tensor Tensor::expand(const Shape& shape) const { return forge::expand(*this, shape); }
Tensor Tensor::flatten(int64_t start_axis, int64_t end_axis) const {
  return forge::flatten(*this, start_axis, end_axis);
}
Tensor Tensor::contiguous() const { return forge::contiguous(*this); }

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype());
  cpu::copy_cast(*this, out);
  if (needs_grad({this})) record("clone", {*this}, out, [](const Tensors& g) { return Tensors{g[0]}; });
  return out;
}

Tensor Tensor::to(DType target) const {
  if (target == dtype()) return *this;
  Tensor out = empty(shape(), target);
  cpu::copy_cast(*this, out);
  if (is_floating(target) && needs_grad({this})) {
    record("to", {*this}, out, [from = dtype()](const Tensors& g) { return Tensors{g[0].to(from)}; });
  }
  return out;
}

}  // namespace forge
