#pragma once
// A node of the dynamic tape: one recorded op application. It knows which tensors fed it
// (edges) and how to turn gradients of its outputs into gradients of its inputs.
//
// Backward rules are written with public ops, so they are themselves differentiable
// (create_graph). Rules must not capture their own outputs with grad history (that would
// form a reference cycle): capture `out.detach()` instead.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace forge {

struct Edge {
  std::shared_ptr<Node> node;        // producer of a non-leaf input
  uint32_t output_nr = 0;            // which output of `node`
  std::shared_ptr<TensorImpl> leaf;  // a leaf input that requires grad
  bool active() const { return node != nullptr || leaf != nullptr; }
};

class Node {
 public:
  // grads[i] is the gradient of output i (zeros if that output did not reach the loss).
  // Returns one gradient per input; an undefined Tensor means "no gradient".
  using BackwardFn = std::function<Tensors(const Tensors& grads)>;

  Node(std::string name, std::vector<Edge> inputs, std::vector<Shape> output_shapes, BackwardFn fn)
      : name_(std::move(name)), inputs_(std::move(inputs)), output_shapes_(std::move(output_shapes)),
        fn_(std::move(fn)) {}

  const std::string& name() const { return name_; }
  const std::vector<Edge>& inputs() const { return inputs_; }
  const std::vector<Shape>& output_shapes() const { return output_shapes_; }
  bool released() const { return !fn_; }
  Tensors apply(const Tensors& grads) const { return fn_(grads); }
  // Frees saved tensors after a backward pass without retain_graph.
  void release() { fn_ = nullptr; }

 private:
  std::string name_;
  std::vector<Edge> inputs_;
  std::vector<Shape> output_shapes_;
  BackwardFn fn_;
};

// True when grad mode is on and any input requires a gradient.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const Tensors& inputs);

// Records `outputs = op(inputs)` on the tape when needed. Call after computing the outputs.
void record(const char* name, const Tensors& inputs, const Tensors& outputs, Node::BackwardFn fn);
inline void record(const char* name, const Tensors& inputs, const Tensor& output, Node::BackwardFn fn) {
  record(name, inputs, Tensors{output}, std::move(fn));
}

}  // namespace forge
