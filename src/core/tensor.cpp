#include "core/tensor.h"

#include <cmath>
#include <cstring>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "backend/cpu/cast.h"

namespace forge {

int64_t Tensor::size(int64_t axis) const {
  return shape()[static_cast<size_t>(normalize_axis(axis, dim(), "size"))];
}

bool Tensor::is_contiguous() const {
  const auto& s = shape();
  const auto& st = strides();
  int64_t expected = 1;
  for (size_t i = s.size(); i-- > 0;) {
    if (s[i] != 1 && st[i] != expected) return false;
    expected *= s[i];
  }
  return true;
}

void* Tensor::raw_data() const {
  FORGE_CHECK(!is_quantized(dtype()) || offset() == 0, "[data] quantized tensors cannot be offset views");
  return static_cast<char*>(storage()->data()) + offset() * static_cast<int64_t>(block_bytes(dtype()));
}

double Tensor::item() const {
  FORGE_CHECK(numel() == 1, "[item] tensor of shape {} has {} elements, expected 1", shape_str(shape()), numel());
  return to_vector<double>()[0];
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(dtype_of<T>()).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}
template std::vector<float> Tensor::to_vector<float>() const;
template std::vector<double> Tensor::to_vector<double>() const;
template std::vector<int32_t> Tensor::to_vector<int32_t>() const;
template std::vector<int64_t> Tensor::to_vector<int64_t>() const;
template std::vector<uint8_t> Tensor::to_vector<uint8_t>() const;

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  FORGE_CHECK(is_leaf(), "[requires_grad] only leaf tensors can change requires_grad; use detach() first");
  FORGE_CHECK(!requires_grad || is_floating(dtype()), "[requires_grad] only floating tensors can require grad, got {}",
              dtype_name(dtype()));
  checked().requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const {
  const auto& g = checked().grad;
  return g ? Tensor(g) : Tensor();
}

void Tensor::set_grad(const Tensor& grad) const {
  if (grad.defined()) {
    FORGE_CHECK(grad.shape() == shape(), "[set_grad] gradient shape {} differs from tensor shape {}",
                shape_str(grad.shape()), shape_str(shape()));
  }
  checked().grad = grad.impl_ptr();
}

void Tensor::zero_grad() const { checked().grad.reset(); }

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  run_backward(*this, gradient, retain_graph, create_graph);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = storage();
  impl->shape = shape();
  impl->strides = strides();
  impl->offset = offset();
  impl->dtype = dtype();
  return Tensor(impl);
}

Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->shape = shape;
  impl->strides = strides;
  impl->offset = offset;
  impl->dtype = base.dtype();
  return Tensor(impl);
}

Tensor empty(const Shape& shape, DType dtype) {
  for (int64_t d : shape) FORGE_CHECK(d >= 0, "[empty] negative dimension in shape {}", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::allocate(nbytes_for(dtype, numel_of(shape)));
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(impl);
}

Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  cpu::fill(t, value);
  return t;
}

Tensor zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  if (t.storage()->nbytes() > 0) std::memset(t.raw_data(), 0, t.storage()->nbytes());  // memset(nullptr, 0, 0) is UB
  return t;
}
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype()); }
Tensor scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor arange(double start, double end, double step, DType dtype) {
  FORGE_CHECK(step != 0, "[arange] step must be non-zero");
  const double span = (end - start) / step;
  const int64_t n = span > 0 ? static_cast<int64_t>(std::ceil(span)) : 0;
  std::vector<double> values(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) values[static_cast<size_t>(i)] = start + static_cast<double>(i) * step;
  return from_vector<double>(values, {n}).to(dtype);
}

template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape) {
  FORGE_CHECK(static_cast<int64_t>(values.size()) == numel_of(shape), "[from_vector] {} values do not fill shape {}",
              values.size(), shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>());
  if (!values.empty()) std::memcpy(t.raw_data(), values.data(), values.size() * sizeof(T));
  return t;
}
template Tensor from_vector<float>(const std::vector<float>&, const Shape&);
template Tensor from_vector<double>(const std::vector<double>&, const Shape&);
template Tensor from_vector<int32_t>(const std::vector<int32_t>&, const Shape&);
template Tensor from_vector<int64_t>(const std::vector<int64_t>&, const Shape&);
template Tensor from_vector<uint8_t>(const std::vector<uint8_t>&, const Shape&);

}  // namespace forge
