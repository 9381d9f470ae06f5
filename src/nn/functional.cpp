#include "nn/functional.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "nn/factory.h"
#include "ops/elementwise.h"
#include "ops/index.h"

namespace forge::nn {
namespace {

const std::map<std::string, Merge>& merge_table() {
  static const std::map<std::string, Merge> table = {
      {"Add", Merge::kAdd},         {"Subtract", Merge::kSubtract}, {"Multiply", Merge::kMultiply},
      {"Average", Merge::kAverage}, {"Maximum", Merge::kMaximum},   {"Minimum", Merge::kMinimum},
      {"Concatenate", Merge::kConcatenate}};
  return table;
}

std::string merge_type(Merge m) {
  for (const auto& [name, op] : merge_table())
    if (op == m) return name;
  return "?";
}

std::string batch_str(const Shape& s) {
  std::string out = "(None";
  for (size_t i = 1; i < s.size(); ++i) out += ", " + std::to_string(s[i]);
  return out + ")";
}

std::string label(const GraphNode& n) { return n.name.empty() ? n.type : "'" + n.name + "' (" + n.type + ")"; }

// Output shape of a merge node for its input shapes (batch axis included).
Shape merge_shape(Merge op, int64_t axis, const std::vector<Shape>& in, const std::string& what) {
  FORGE_CHECK(in.size() >= 2, "[functional] {} needs at least 2 inputs, got {}", what, in.size());
  if (op == Merge::kSubtract)
    FORGE_CHECK(in.size() == 2, "[functional] {} needs exactly 2 inputs, got {}", what, in.size());
  if (op != Merge::kConcatenate) {
    for (size_t i = 1; i < in.size(); ++i)
      FORGE_CHECK(in[i] == in[0], "[functional] {}: input shapes differ: {} vs {}", what, batch_str(in[0]),
                  batch_str(in[i]));
    return in[0];
  }
  const int64_t rank = static_cast<int64_t>(in[0].size());
  const int64_t a = axis < 0 ? axis + rank : axis;
  FORGE_CHECK(a >= 1 && a < rank, "[functional] {}: axis {} is out of range for inputs of shape {} (axis 0 is the batch)",
              what, axis, batch_str(in[0]));
  Shape out = in[0];
  for (size_t i = 1; i < in.size(); ++i) {
    bool ok = static_cast<int64_t>(in[i].size()) == rank;
    for (int64_t d = 1; ok && d < rank; ++d) ok = d == a || in[i][d] == in[0][d];
    FORGE_CHECK(ok, "[functional] {}: shapes {} and {} do not match outside axis {}", what, batch_str(in[0]),
                batch_str(in[i]), axis);
    out[a] += in[i][a];
  }
  return out;
}

Tensor apply_merge(Merge op, int64_t axis, const std::vector<Tensor>& xs) {
  if (op == Merge::kConcatenate) {
    const int64_t rank = xs[0].dim();
    return concat(Tensors(xs.begin(), xs.end()), axis < 0 ? axis + rank : axis);
  }
  Tensor out = xs[0];
  for (size_t i = 1; i < xs.size(); ++i) {
    switch (op) {
      case Merge::kAdd:
      case Merge::kAverage: out = forge::add(out, xs[i]); break;
      case Merge::kSubtract: out = forge::sub(out, xs[i]); break;
      case Merge::kMultiply: out = forge::mul(out, xs[i]); break;
      case Merge::kMaximum: out = forge::maximum(out, xs[i]); break;
      case Merge::kMinimum: out = forge::minimum(out, xs[i]); break;
      default: break;
    }
  }
  if (op == Merge::kAverage) out = forge::mul(out, 1.0 / static_cast<double>(xs.size()));
  return out;
}

SymbolicTensor merge_node(Merge op, const std::vector<SymbolicTensor>& xs, int64_t axis, const std::string& name) {
  auto node = std::make_shared<GraphNode>();
  node->name = name;
  node->type = merge_type(op);
  node->merge = op;
  node->axis = axis;
  node->inputs = xs;
  std::vector<Shape> shapes;
  for (const auto& x : xs) {
    FORGE_CHECK(x != nullptr, "[functional] {}: an input is null", label(*node));
    shapes.push_back(x->shape);
  }
  node->shape = merge_shape(op, axis, shapes, label(*node));
  return node;
}

}  // namespace

std::string snake_case(const std::string& type) {
  std::string out;
  for (size_t i = 0; i < type.size(); ++i) {
    const auto c = static_cast<unsigned char>(type[i]);
    if (std::isupper(c)) {
      const bool prev_lower = i > 0 && std::islower(static_cast<unsigned char>(type[i - 1]));
      const bool next_lower = i + 1 < type.size() && std::islower(static_cast<unsigned char>(type[i + 1]));
      if (i > 0 && (prev_lower || (next_lower && std::isupper(static_cast<unsigned char>(type[i - 1]))))) out += '_';
      out += static_cast<char>(std::tolower(c));
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

SymbolicTensor Input(const Shape& shape, const std::string& name) {
  for (int64_t d : shape) FORGE_CHECK(d > 0, "[functional] Input shape {} must have positive sizes", shape_str(shape));
  auto node = std::make_shared<GraphNode>();
  node->name = name;
  node->type = "InputLayer";
  node->shape = Shape{1};
  node->shape.insert(node->shape.end(), shape.begin(), shape.end());
  return node;
}

SymbolicTensor call(const ModulePtr& layer, const SymbolicTensor& x, const std::string& name) {
  FORGE_CHECK(layer != nullptr && x != nullptr, "[functional] call: the layer and its input must not be null");
  auto node = std::make_shared<GraphNode>();
  node->name = name;
  node->type = layer->name();
  node->layer = layer;
  node->inputs = {x};
  try {
    layer->build(x->shape);
    node->shape = layer->output_shape(x->shape);
  } catch (const Error& e) {
    fail("[functional] layer {} does not fit its input shape {}: {}", label(*node), batch_str(x->shape), e.what());
  }
  for (int64_t d : node->shape)
    FORGE_CHECK(d > 0, "[functional] layer {} does not fit its input shape {}: the output shape would be {}",
                label(*node), batch_str(x->shape), batch_str(node->shape));
  return node;
}

SymbolicTensor add(const std::vector<SymbolicTensor>& xs, const std::string& name) {
  return merge_node(Merge::kAdd, xs, -1, name);
}
SymbolicTensor subtract(const std::vector<SymbolicTensor>& xs, const std::string& name) {
  return merge_node(Merge::kSubtract, xs, -1, name);
}
SymbolicTensor multiply(const std::vector<SymbolicTensor>& xs, const std::string& name) {
  return merge_node(Merge::kMultiply, xs, -1, name);
}
SymbolicTensor average(const std::vector<SymbolicTensor>& xs, const std::string& name) {
  return merge_node(Merge::kAverage, xs, -1, name);
}
SymbolicTensor maximum(const std::vector<SymbolicTensor>& xs, const std::string& name) {
  return merge_node(Merge::kMaximum, xs, -1, name);
}
SymbolicTensor minimum(const std::vector<SymbolicTensor>& xs, const std::string& name) {
  return merge_node(Merge::kMinimum, xs, -1, name);
}
SymbolicTensor concatenate(const std::vector<SymbolicTensor>& xs, int64_t axis, const std::string& name) {
  return merge_node(Merge::kConcatenate, xs, axis, name);
}

// ---- Functional

Functional::Functional(const SymbolicTensor& input, const SymbolicTensor& output) {
  FORGE_CHECK(input != nullptr && output != nullptr, "[functional] the input and output must not be null");
  FORGE_CHECK(input->type == "InputLayer", "[functional] the model input must come from Input(), got {}",
              label(*input));
  // Depth-first post-order from the output: every node after its inputs.
  std::vector<const GraphNode*> order;
  std::unordered_map<const GraphNode*, size_t> index;
  std::set<const GraphNode*> visiting;
  std::vector<std::pair<const GraphNode*, size_t>> stack{{output.get(), 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next == 0) visiting.insert(node);
    if (next < node->inputs.size()) {
      const GraphNode* in = node->inputs[next++].get();
      FORGE_CHECK(in != nullptr, "[functional] {} has a null input", label(*node));
      if (!index.count(in)) {
        FORGE_CHECK(!visiting.count(in), "[functional] the graph has a cycle through {}", label(*in));
        stack.push_back({in, 0});
      }
      continue;
    }
    if (node->type == "InputLayer")
      FORGE_CHECK(node == input.get(), "[functional] the output depends on input {}, which is not the model's input {}",
                  label(*node), label(*input));
    visiting.erase(node);
    index[node] = order.size();
    order.push_back(node);
    stack.pop_back();
  }
  FORGE_CHECK(index.count(input.get()), "[functional] the output {} does not depend on the input {}", label(*output),
              label(*input));
  // The input goes first (post-order may visit it later than a node without inputs... which
  // cannot exist: every non-input node has inputs, so the input is the first leaf reached).
  std::set<const Module*> layers;
  std::set<std::string> names;
  std::map<std::string, int> counts;
  for (const GraphNode* n : order)
    if (!n->name.empty()) {
      FORGE_CHECK(names.insert(n->name).second, "[functional] two layers are named '{}'", n->name);
      FORGE_CHECK(n->name.find('.') == std::string::npos, "[functional] layer name '{}' must not contain '.'", n->name);
    }
  for (const GraphNode* n : order) {
    auto copy = std::make_shared<GraphNode>(*n);
    if (copy->name.empty()) {
      const std::string base = snake_case(copy->type);
      std::string name;
      do {
        const int k = counts[base]++;
        name = k == 0 ? base : base + "_" + std::to_string(k);
      } while (names.count(name));
      names.insert(name);
      copy->name = name;
    }
    if (copy->layer) {
      FORGE_CHECK(layers.insert(copy->layer.get()).second,
                  "[functional] layer {} is used twice; shared layers are not supported (create a second layer)",
                  label(*copy));
      register_module(copy->name, copy->layer);
    }
    std::vector<size_t> ins;
    for (const auto& in : n->inputs) ins.push_back(index.at(in.get()));
    input_index_.push_back(std::move(ins));
    nodes_.push_back(std::move(copy));
  }
  last_use_.assign(nodes_.size(), 0);
  for (size_t i = 0; i < nodes_.size(); ++i)
    for (size_t j : input_index_[i]) last_use_[j] = std::max(last_use_[j], i);
}

void Functional::build(const Shape& input_shape) {
  const Shape& expected = nodes_.front()->shape;
  bool ok = input_shape.size() == expected.size();
  for (size_t d = 1; ok && d < expected.size(); ++d) ok = input_shape[d] == expected[d];
  FORGE_CHECK(ok, "[functional] the graph was built for inputs of shape {}, got {}", batch_str(expected),
              batch_str(input_shape));
}

Shape Functional::infer(size_t i, const std::vector<Shape>& in) const {
  const GraphNode& n = *nodes_[i];
  if (n.layer) return n.layer->output_shape(in[0]);
  return merge_shape(n.merge, n.axis, in, label(n));
}

Shape Functional::output_shape(const Shape& input) const {
  std::vector<Shape> shapes(nodes_.size());
  shapes[0] = input;
  for (size_t i = 1; i < nodes_.size(); ++i) {
    std::vector<Shape> in;
    for (size_t j : input_index_[i]) in.push_back(shapes[j]);
    shapes[i] = infer(i, in);
  }
  return shapes.back();
}

Tensor Functional::forward(const Tensor& input) {
  const Shape& expected = nodes_.front()->shape;
  bool ok = input.dim() == static_cast<int64_t>(expected.size());
  for (size_t d = 1; ok && d < expected.size(); ++d) ok = input.shape()[d] == expected[d];
  FORGE_CHECK(ok, "[functional] expected inputs of shape {}, got {}", batch_str(expected), shape_str(input.shape()));
  std::vector<Tensor> values(nodes_.size());
  values[0] = input;
  for (size_t i = 1; i < nodes_.size(); ++i) {
    const GraphNode& n = *nodes_[i];
    if (n.layer) {
      values[i] = n.layer->forward(values[input_index_[i][0]]);
    } else {
      std::vector<Tensor> xs;
      for (size_t j : input_index_[i]) xs.push_back(values[j]);
      values[i] = apply_merge(n.merge, n.axis, xs);
    }
    for (size_t j : input_index_[i])
      if (last_use_[j] == i) values[j] = Tensor();  // free activations early (autograd keeps what it needs)
  }
  return values.back();
}

// ---- configs

std::vector<std::string> merge_layer_types() {
  std::vector<std::string> out;
  for (const auto& [name, op] : merge_table()) out.push_back(name);
  return out;
}

bool is_graph_spec(const nlohmann::json& layers) {
  if (!layers.is_array()) return false;
  for (const auto& spec : layers) {
    if (!spec.is_object()) continue;
    if (spec.contains("inputs")) return true;
    if (spec.contains("type") && spec["type"].is_string() && merge_table().count(spec["type"].get<std::string>()))
      return true;
  }
  return false;
}

std::shared_ptr<Functional> make_functional(const nlohmann::json& layers, const Shape& input_shape) {
  FORGE_CHECK(layers.is_array() && !layers.empty(), "[layers] must be a non-empty array of layer specs");
  std::map<std::string, SymbolicTensor> known;
  std::vector<std::string> order{"input"};
  SymbolicTensor in = Input(input_shape, "input");
  known["input"] = in;
  SymbolicTensor previous = in;
  std::set<std::string> explicit_names;
  std::map<std::string, int> counts;
  for (const auto& spec : layers)
    if (spec.is_object() && spec.contains("name") && spec["name"].is_string())
      explicit_names.insert(spec["name"].get<std::string>());
  auto known_list = [&] {
    std::string s;
    for (const auto& n : order) s += (s.empty() ? "" : ", ") + n;
    return s;
  };
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& spec = layers[i];
    FORGE_CHECK(spec.is_object() && spec.contains("type") && spec["type"].is_string(),
                "[layers] layer {} must be an object with a \"type\", got {}", i, spec.dump());
    const std::string type = spec["type"].get<std::string>();
    const std::string where = fmt::format("[layers] layer {} ({})", i, type);
    std::string name;
    if (spec.contains("name")) {
      FORGE_CHECK(spec["name"].is_string() && !spec["name"].get<std::string>().empty(),
                  "{}: \"name\" must be a non-empty string", where);
      name = spec["name"].get<std::string>();
      FORGE_CHECK(!known.count(name), "{}: the name '{}' is already used", where, name);
    } else {
      // Keras' default names ("dense", "dense_1"), skipping names the specs give explicitly.
      const std::string base = snake_case(type);
      do {
        const int k = counts[base]++;
        name = k == 0 ? base : base + "_" + std::to_string(k);
      } while (explicit_names.count(name) || known.count(name));
    }
    std::vector<SymbolicTensor> inputs;
    if (spec.contains("inputs")) {
      const auto& ins = spec["inputs"];
      std::vector<std::string> names;
      if (ins.is_string()) {
        names.push_back(ins.get<std::string>());
      } else {
        FORGE_CHECK(ins.is_array() && !ins.empty(), "{}: \"inputs\" must be a layer name or a list of names", where);
        for (const auto& n : ins) {
          FORGE_CHECK(n.is_string(), "{}: \"inputs\" must hold layer names, got {}", where, n.dump());
          names.push_back(n.get<std::string>());
        }
      }
      for (const auto& n : names) {
        auto it = known.find(n);
        FORGE_CHECK(it != known.end(), "{}: unknown input '{}' (known: {})", where, n, known_list());
        inputs.push_back(it->second);
      }
    } else {
      inputs.push_back(previous);
    }
    SymbolicTensor out;
    try {
      auto merge = merge_table().find(type);
      if (merge != merge_table().end()) {
        for (const auto& [key, value] : spec.items())
          FORGE_CHECK(key == "type" || key == "name" || key == "inputs" || (key == "axis" && type == "Concatenate"),
                      "{}: unknown argument '{}'; valid arguments: inputs, name{}", where, key,
                      type == "Concatenate" ? ", axis" : "");
        int64_t axis = -1;
        if (spec.contains("axis")) {
          FORGE_CHECK(spec["axis"].is_number_integer(), "{}: \"axis\" must be an integer", where);
          axis = spec["axis"].get<int64_t>();
        }
        out = merge_node(merge->second, inputs, axis, name);
      } else {
        FORGE_CHECK(inputs.size() == 1, "{}: takes one input, got {} (merge layers: {})", where, inputs.size(),
                    fmt::format("{}", fmt::join(merge_layer_types(), ", ")));
        nlohmann::json layer_spec = spec;
        layer_spec.erase("inputs");
        out = call(make_layer(layer_spec), inputs[0], name);
      }
    } catch (const Error& e) {
      std::string msg = e.what();
      if (msg.rfind(where, 0) == 0) throw;
      throw Error(where + ": " + msg);
    }
    known[name] = out;
    order.push_back(name);
    previous = out;
  }
  return std::make_shared<Functional>(in, previous);
}

}  // namespace forge::nn
