#include "autograd/engine.h"

#include <unordered_map>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "ops/elementwise.h"

namespace forge {

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor* t : inputs) {
    if (t->defined() && t->requires_grad()) return true;
  }
  return false;
}

bool needs_grad(const Tensors& inputs) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : inputs) {
    if (t.defined() && t.requires_grad()) return true;
  }
  return false;
}

void record(const char* name, const Tensors& inputs, const Tensors& outputs, Node::BackwardFn fn) {
  if (!needs_grad(inputs)) return;
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor& input : inputs) {
    Edge edge;
    if (input.defined() && input.requires_grad()) {
      if (input.grad_fn()) {
        edge.node = input.grad_fn();
        edge.output_nr = input.impl()->output_nr;
      } else {
        edge.leaf = input.impl_ptr();
      }
    }
    edges.push_back(std::move(edge));
  }
  std::vector<Shape> shapes;
  shapes.reserve(outputs.size());
  for (const Tensor& out : outputs) shapes.push_back(out.shape());
  auto node = std::make_shared<Node>(name, std::move(edges), std::move(shapes), std::move(fn));
  for (size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl* impl = outputs[i].impl();
    impl->grad_fn = node;
    impl->output_nr = static_cast<uint32_t>(i);
    impl->requires_grad = true;
  }
}

namespace {

void accumulate_leaf(TensorImpl& leaf, Tensor grad, bool create_graph) {
  if (!leaf.grad) {
    const bool exclusive = grad.impl_ptr().use_count() == 1 && grad.storage().use_count() == 1 &&
                           grad.is_contiguous() && !grad.requires_grad();
    leaf.grad = (create_graph || exclusive) ? grad.impl_ptr() : grad.clone().impl_ptr();
    return;
  }
  Tensor existing(leaf.grad);
  if (create_graph) {
    leaf.grad = add(existing, grad).impl_ptr();
  } else {
    add_(existing, grad);
  }
}

}  // namespace

void run_backward(const Tensor& root, const Tensor& gradient, bool retain_graph, bool create_graph) {
  FORGE_CHECK(root.requires_grad(),
              "[backward] tensor does not require grad: no input had requires_grad set, or it was computed "
              "under NoGradGuard");
  Tensor seed = gradient;
  if (!seed.defined()) {
    FORGE_CHECK(root.numel() == 1, "[backward] a gradient must be given for a non-scalar output of shape {}",
                shape_str(root.shape()));
    seed = ones_like(root);
  }
  FORGE_CHECK(seed.shape() == root.shape(), "[backward] gradient shape {} differs from output shape {}",
              shape_str(seed.shape()), shape_str(root.shape()));

  std::unique_ptr<NoGradGuard> no_grad;
  std::unique_ptr<EnableGradGuard> with_grad;
  if (create_graph) {
    with_grad = std::make_unique<EnableGradGuard>();
  } else {
    no_grad = std::make_unique<NoGradGuard>();
  }

  if (!root.grad_fn()) {
    accumulate_leaf(*root.impl(), seed, create_graph);
    return;
  }

  // Count, for every reachable node, how many edges lead into it.
  std::unordered_map<Node*, int> dependencies;
  std::vector<Node*> stack{root.grad_fn().get()};
  dependencies[root.grad_fn().get()] = 0;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& edge : node->inputs()) {
      if (!edge.node) continue;
      auto [it, inserted] = dependencies.try_emplace(edge.node.get(), 0);
      ++it->second;
      if (inserted) stack.push_back(edge.node.get());
    }
  }

  std::unordered_map<Node*, Tensors> pending;
  pending[root.grad_fn().get()].resize(root.grad_fn()->output_shapes().size());
  pending[root.grad_fn().get()][root.impl()->output_nr] = seed;
  std::vector<std::shared_ptr<Node>> ready{root.grad_fn()};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    FORGE_CHECK(!node->released(),
                "[backward] the graph through '{}' was already freed by an earlier backward(); pass "
                "retain_graph=true to the first call to backward through it twice",
                node->name());
    Tensors grads = std::move(pending[node.get()]);
    pending.erase(node.get());
    grads.resize(node->output_shapes().size());
    for (size_t i = 0; i < grads.size(); ++i) {
      if (!grads[i].defined()) grads[i] = zeros(node->output_shapes()[i]);
    }
    Tensors input_grads = node->apply(grads);
    grads.clear();
    FORGE_CHECK(input_grads.size() == node->inputs().size(),
                "[backward] internal: '{}' returned {} gradients for {} inputs", node->name(), input_grads.size(),
                node->inputs().size());
    if (!retain_graph) node->release();
    for (size_t i = 0; i < input_grads.size(); ++i) {
      const Edge& edge = node->inputs()[i];
      if (!edge.active()) continue;
      Tensor grad = std::move(input_grads[i]);
      if (edge.node) {
        Tensors& slot = pending[edge.node.get()];
        slot.resize(edge.node->output_shapes().size());
        if (grad.defined()) {
          FORGE_CHECK(grad.shape() == edge.node->output_shapes()[edge.output_nr],
                      "[backward] internal: '{}' produced gradient {} for '{}' output of shape {}", node->name(),
                      shape_str(grad.shape()), edge.node->name(),
                      shape_str(edge.node->output_shapes()[edge.output_nr]));
          Tensor& acc = slot[edge.output_nr];
          acc = acc.defined() ? add(acc, grad) : grad;
        }
        if (--dependencies[edge.node.get()] == 0) ready.push_back(edge.node);
      } else if (grad.defined()) {
        FORGE_CHECK(grad.shape() == edge.leaf->shape, "[backward] internal: '{}' produced gradient {} for leaf {}",
                    node->name(), shape_str(grad.shape()), shape_str(edge.leaf->shape));
        accumulate_leaf(*edge.leaf, std::move(grad), create_graph);
      }
    }
  }
}

}  // namespace forge
