// Readable printing in PyTorch's style; large tensors are summarized with "...".
#include <cmath>
#include <sstream>

#include "autograd/node.h"
#include "core/tensor.h"

namespace forge {

namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Printer {
  std::vector<double> values;
  Shape shape;
  Shape strides;
  bool integral = false;
  bool scientific = false;
  bool summarize = false;
  int width = 0;

  std::string format(double v) const {
    if (integral) return fmt::format("{}", static_cast<int64_t>(v));
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    return scientific ? fmt::format("{:.4e}", v) : fmt::format("{:.4f}", v);
  }

  void print(std::ostringstream& os, size_t axis, int64_t offset, int indent) const {
    if (axis == shape.size()) {
      std::string s = format(values[static_cast<size_t>(offset)]);
      os << std::string(static_cast<size_t>(std::max<int>(0, width - static_cast<int>(s.size()))), ' ') << s;
      return;
    }
    const int64_t n = shape[axis];
    os << "[";
    for (int64_t i = 0; i < n; ++i) {
      if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
        os << (axis + 1 == shape.size() ? "...," : "...,\n" + std::string(static_cast<size_t>(indent + 1), ' '));
        i = n - kEdgeItems;
      }
      print(os, axis + 1, offset + i * strides[axis], indent + 1);
      if (i + 1 < n) {
        if (axis + 1 == shape.size()) {
          os << ", ";
        } else {
          os << "," << std::string(shape.size() - axis - 1, '\n') << std::string(static_cast<size_t>(indent + 1), ' ');
        }
      }
    }
    os << "]";
  }
};

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  if (is_quantized(dtype())) {
    return fmt::format("tensor(<{} elements, {}>, shape={})", numel(), dtype_name(dtype()), shape_str(shape()));
  }
  Printer p;
  p.values = to_vector<double>();
  p.shape = shape();
  p.strides = contiguous_strides(shape());
  p.integral = !is_floating(dtype());
  p.summarize = numel() > kSummarizeAbove;
  double max_abs = 0, min_abs = INFINITY;
  for (double v : p.values) {
    if (std::isfinite(v) && v != 0) {
      max_abs = std::max(max_abs, std::fabs(v));
      min_abs = std::min(min_abs, std::fabs(v));
    }
  }
  p.scientific = !p.integral && (max_abs >= 1e6 || (min_abs < 1e-4 && max_abs > 0));
  for (double v : p.values) p.width = std::max(p.width, static_cast<int>(p.format(v).size()));
  std::ostringstream os;
  os << "tensor(";
  p.print(os, 0, 0, 7);
  os << ", shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype());
  if (requires_grad()) os << (grad_fn() ? ", grad_fn=" : ", requires_grad=true");
  if (grad_fn()) os << grad_fn()->name();
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& tensor) { return os << tensor.str(); }

}  // namespace forge
