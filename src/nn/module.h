#pragma once
// Module: the building block of networks. A module owns named parameters (trainable leaves),
// named buffers (state such as BatchNorm's running statistics) and named child modules;
// names compose with dots ("encoder.layers.0.attn.q_proj.weight") so checkpoints load by name.
//
// Modules are held as std::shared_ptr<Module>. Parameter tensors are created once and then
// updated in place (load_state copies into them), so optimizers may keep the handles.
//
// Randomness: every module owns a Generator seeded from default_generator() when the module
// is constructed. Initializers, lazy builds and dropout masks draw from it, so a network built
// after manual_seed(s) gets the same weights whether its layers build eagerly or lazily.
//
// Lazy building: layers whose Keras counterpart infers its input size (Dense, Conv1D, Conv2D,
// BatchNormalization, LayerNormalization, LSTM, GRU) accept that size as an option; when it is
// left 0 they create their parameters on the first forward (or on build(input_shape), or from
// the shapes in load_state). Until then they have no parameters: build before handing
// parameters() to an optimizer.
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace forge::nn {

class Module;
using ModulePtr = std::shared_ptr<Module>;
using NamedModules = std::vector<std::pair<std::string, ModulePtr>>;

// What load_state found (only non-empty with strict = false; strict throws instead).
struct LoadReport {
  std::vector<std::string> missing;     // in the module, absent from the state
  std::vector<std::string> unexpected;  // in the state, absent from the module
};

class Module {
 public:
  Module();
  virtual ~Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // ---- computation
  // The module's function of one input. The default throws (for containers without one).
  virtual Tensor forward(const Tensor& input);
  Tensor operator()(const Tensor& input) { return forward(input); }
  // Keras-style type name used in summaries ("Dense", "Conv2D", "Sequential").
  virtual std::string name() const = 0;
  // The output shape for a full input shape (batch axis included), without computing.
  // The default throws naming the module.
  virtual Shape output_shape(const Shape& input) const;
  // Creates lazily sized parameters for inputs of this shape; a no-op once built.
  virtual void build(const Shape& input_shape) {}

  // ---- registration (names are non-empty, without '.', unique within the module)
  // Registers a trainable leaf (requires_grad is set) and returns it.
  Tensor register_parameter(const std::string& name, const Tensor& tensor);
  // Registers non-trainable state that is saved and loaded with the parameters.
  Tensor register_buffer(const std::string& name, const Tensor& tensor);
  template <typename M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    add_child(name, module);
    return module;
  }

  // ---- introspection (registration order, children after own tensors, depth first)
  NamedTensors named_parameters() const;
  NamedTensors named_buffers() const;
  Tensors parameters() const;
  // Parameters followed by buffers: what a checkpoint holds.
  NamedTensors state() const;
  const NamedModules& named_children() const { return children_; }
  // Every descendant with its dotted path (this module itself is "" and comes first).
  NamedModules named_modules();
  int64_t num_parameters() const;
  // The parameter or buffer registered here under `name`; throws if there is none.
  Tensor tensor(const std::string& name) const;

  // Copies a state (names as produced by state()) into this module's tensors in place.
  // Shapes must match exactly; dtypes are converted. strict: any missing or unexpected name
  // is an error listing all of them; otherwise they are reported. Nothing is modified when
  // an error is thrown.
  LoadReport load_state(const NamedTensors& state, bool strict = true);

  // ---- modes
  void train(bool on = true);  // recursive
  void eval() { train(false); }
  bool is_training() const { return training_; }
  // Drops the gradients of all parameters.
  void zero_grad();

  Generator& generator() { return generator_; }

 protected:
  // Lazy layers: create parameters from a checkpoint's shapes (called by load_state before
  // matching, with the entries under this module's prefix, names relative to the module).
  virtual void build_from_state(const std::map<std::string, Tensor>& own_entries) {}

 private:
  void add_child(const std::string& name, ModulePtr module);
  void check_new_name(const std::string& name, const char* what) const;
  void collect(const std::string& prefix, bool params, bool buffers, NamedTensors& out) const;
  void collect_modules(const std::string& prefix, NamedModules& out, const ModulePtr& self);
  void prepare_load(const std::string& prefix, const std::map<std::string, Tensor>& state);

  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  NamedModules children_;
  bool training_ = true;
  Generator generator_;
};

// Runs children in order; they are named "0", "1", ...
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<ModulePtr> layers);
  Sequential& add(ModulePtr layer);
  size_t size() const { return named_children().size(); }
  const ModulePtr& at(size_t i) const;

  Tensor forward(const Tensor& input) override;
  std::string name() const override { return "Sequential"; }
  Shape output_shape(const Shape& input) const override;
  void build(const Shape& input_shape) override;  // builds each layer on its input shape
};

// An indexed list of modules without a forward of its own ("0", "1", ...).
class ModuleList : public Module {
 public:
  ModuleList() = default;
  ModuleList& add(ModulePtr module);
  size_t size() const { return named_children().size(); }
  const ModulePtr& at(size_t i) const;
  std::string name() const override { return "ModuleList"; }
};

}  // namespace forge::nn
