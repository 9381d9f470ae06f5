#pragma once
// Tensor: an N-dimensional, row-major view (shape, strides, offset) of a shared Storage,
// plus the autograd fields. Tensor is a cheap handle (one shared_ptr); copies alias.
#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/shape.h"
#include "core/storage.h"

namespace forge {

class Node;
class Tensor;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::kF32;
  // Autograd state. A leaf that requires grad accumulates into `grad`; a non-leaf points at
  // the node (and which of its outputs) that produced it.
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<Node> grad_fn;
  uint32_t output_nr = 0;
};

using Tensors = std::vector<Tensor>;

// A tensor with its hierarchical name ("encoder.layers.0.attn.q_proj.weight"). Parameters and
// gradients travel as lists of these, so checkpoints, optimizers and all-reduce match by name.
struct NamedTensor;

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // ---- metadata
  const Shape& shape() const { return checked().shape; }
  const Shape& strides() const { return checked().strides; }
  int64_t offset() const { return checked().offset; }
  DType dtype() const { return checked().dtype; }
  int64_t dim() const { return static_cast<int64_t>(shape().size()); }
  int64_t size(int64_t axis) const;
  int64_t numel() const { return numel_of(shape()); }
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return checked().storage; }

  // ---- data access (host memory)
  template <typename T>
  T* data() const {
    FORGE_CHECK(dtype() == dtype_of<T>(), "[data] tensor has dtype {}, asked for {}", dtype_name(dtype()),
                dtype_name(dtype_of<T>()));
    return static_cast<T*>(storage()->data()) + offset();
  }
  void* raw_data() const;
  // The single value of a one-element tensor, converted to double.
  double item() const;
  // A contiguous copy of the elements converted to T.
  template <typename T>
  std::vector<T> to_vector() const;

  // ---- autograd
  bool requires_grad() const { return checked().requires_grad; }
  // Marks a leaf as needing a gradient. Throws for non-leaf tensors.
  Tensor& set_requires_grad(bool requires_grad = true);
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  void zero_grad() const;  // drops the gradient (like PyTorch set_to_none)
  const std::shared_ptr<Node>& grad_fn() const { return checked().grad_fn; }
  bool is_leaf() const { return grad_fn() == nullptr; }
  // Reverse-mode differentiation from this tensor. `gradient` defaults to 1 for scalars.
  void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;
  // Same data, cut from the graph.
  Tensor detach() const;

  // ---- views and copies (autograd-aware; defined in ops/view.cpp)
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;  // like reshape, but never copies (throws instead)
  Tensor permute(const Shape& axes) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor t() const;  // transpose of the last two axes
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t axis, int64_t index) const;
  Tensor squeeze(int64_t axis) const;
  Tensor squeeze() const;
  Tensor unsqueeze(int64_t axis) const;
  Tensor expand(const Shape& shape) const;
  Tensor flatten(int64_t start_axis = 0, int64_t end_axis = -1) const;
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype) const;

  std::string str() const;

 private:
  TensorImpl& checked() const {
    FORGE_CHECK(impl_ != nullptr, "[tensor] use of an undefined tensor");
    return *impl_;
  }
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& tensor);

struct NamedTensor {
  std::string name;
  Tensor tensor;
};
using NamedTensors = std::vector<NamedTensor>;

// ---- factories
Tensor empty(const Shape& shape, DType dtype = DType::kF32);
Tensor zeros(const Shape& shape, DType dtype = DType::kF32);
Tensor ones(const Shape& shape, DType dtype = DType::kF32);
Tensor full(const Shape& shape, double value, DType dtype = DType::kF32);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor empty_like(const Tensor& t);
Tensor scalar(double value, DType dtype = DType::kF32);
// start, start+step, ... < end
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::kF32);
template <typename T>
Tensor from_vector(const std::vector<T>& values, const Shape& shape);
inline Tensor from_vector(const std::vector<float>& values, const Shape& shape) {
  return from_vector<float>(values, shape);
}
// A view of existing storage with explicit geometry (used by view ops and loaders).
Tensor make_view(const Tensor& base, const Shape& shape, const Shape& strides, int64_t offset);

// Returns "(64,784)"-style shape of a tensor.
inline std::string shape_str(const Tensor& t) { return shape_str(t.shape()); }

}  // namespace forge
