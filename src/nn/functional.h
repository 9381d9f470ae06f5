#pragma once
// Keras-style functional API: build a graph of layers by calling them on symbolic tensors, then
// wrap it in a Functional module (one input, one output; branches, residual connections and
// merges in between).
//
//   auto in = nn::Input({784});
//   auto h = nn::call(std::make_shared<nn::Dense>(..), in);         // named "dense"
//   auto a = nn::call(std::make_shared<nn::Dense>(..), h, "skip");
//   auto out = nn::call(std::make_shared<nn::Dense>(..), nn::add({h, a}));
//   auto net = std::make_shared<nn::Functional>(in, out);            // an nn::Module
//
// Layers are built (lazy sizes resolved) and shapes checked when they are called, so a shape
// error names the layer at the line that adds it. Configs describe the same graphs with an
// "inputs" entry per layer spec (see make_functional).
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"

namespace forge::nn {

// Parameterless merge nodes (Keras' merge layers).
enum class Merge { kNone, kAdd, kSubtract, kMultiply, kAverage, kMaximum, kMinimum, kConcatenate };

struct GraphNode {
  std::string name;
  std::string type;  // layer type ("Dense"), merge type ("Add") or "InputLayer"
  ModulePtr layer;   // null for inputs and merges
  Merge merge = Merge::kNone;
  int64_t axis = -1;  // Concatenate's axis (batch axis included, negative from the end)
  std::vector<std::shared_ptr<const GraphNode>> inputs;
  Shape shape;  // output shape with a batch axis of 1
};
using SymbolicTensor = std::shared_ptr<const GraphNode>;

// The graph's input; `shape` excludes the batch axis.
SymbolicTensor Input(const Shape& shape, const std::string& name = "input");
// Applies a layer: builds it for x's shape and infers its output shape. name "" = snake-case
// type with a counter ("dense", "dense_1") when the Functional is created.
SymbolicTensor call(const ModulePtr& layer, const SymbolicTensor& x, const std::string& name = "");
// Element-wise merges of tensors of equal shapes (broadcasting is not applied, like Keras).
SymbolicTensor add(const std::vector<SymbolicTensor>& xs, const std::string& name = "");
SymbolicTensor subtract(const std::vector<SymbolicTensor>& xs, const std::string& name = "");  // exactly two
SymbolicTensor multiply(const std::vector<SymbolicTensor>& xs, const std::string& name = "");
SymbolicTensor average(const std::vector<SymbolicTensor>& xs, const std::string& name = "");
SymbolicTensor maximum(const std::vector<SymbolicTensor>& xs, const std::string& name = "");
SymbolicTensor minimum(const std::vector<SymbolicTensor>& xs, const std::string& name = "");
// Joins along `axis` (default: the last); the other axes must match.
SymbolicTensor concatenate(const std::vector<SymbolicTensor>& xs, int64_t axis = -1, const std::string& name = "");

class Functional : public Module {
 public:
  // Every node `output` depends on must lead back to `input`. Layers become children under
  // their node names, so checkpoints name parameters "dense_1.weight".
  Functional(const SymbolicTensor& input, const SymbolicTensor& output);

  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Functional"; }
  Shape output_shape(const Shape& input) const override;
  void build(const Shape& input_shape) override;  // checks the shape the graph was built for

  // Nodes in evaluation order (the input first, the output last), with unique names.
  const std::vector<std::shared_ptr<GraphNode>>& nodes() const { return nodes_; }

 private:
  Shape infer(size_t i, const std::vector<Shape>& in) const;
  std::vector<std::shared_ptr<GraphNode>> nodes_;
  std::vector<std::vector<size_t>> input_index_;  // per node: positions of its inputs in nodes_
  std::vector<size_t> last_use_;                  // per node: the last node that reads it
};

// "BatchNormalization" -> "batch_normalization": Keras' default layer names.
std::string snake_case(const std::string& type);

// Merge layer types accepted in configs ("Add", "Concatenate", ...).
std::vector<std::string> merge_layer_types();
// True when layer specs describe a graph: some spec has "inputs" or is a merge layer.
bool is_graph_spec(const nlohmann::json& layers);
// Builds a Functional from layer specs: each spec may name itself ("name") and its inputs
// ("inputs": a name or a list of names; default: the previous layer, "input" for the first);
// unnamed layers get Keras' default names ("dense", "dense_1", "add"); the model input is
// "input" and the output is the last layer. Merge layers take 2+ inputs
// (Concatenate has "axis"). Errors: "[layers] layer 3 (Add): unknown input 'x' (known: ...)".
std::shared_ptr<Functional> make_functional(const nlohmann::json& layers, const Shape& input_shape);

}  // namespace forge::nn
