// Module: hierarchical names, modes, state round trips and their errors.
#include "nn/nn.h"
#include "test_util.h"

namespace forge::nn {
namespace {

// A hand-written module with its own tensors and a nested Sequential.
class Block : public Module {
 public:
  Block() {
    scale = register_parameter("scale", ones({3}));
    register_buffer("steps", zeros({1}));
    q_proj = register_module("q_proj", std::make_shared<Dense>(3, DenseOptions{.input_dim = 3}));
    layers = register_module("layers", std::make_shared<Sequential>());
    layers->add(std::make_shared<Dense>(4, DenseOptions{.input_dim = 3}));
    layers->add(std::make_shared<Activation>("relu"));
    layers->add(std::make_shared<Dense>(2, DenseOptions{.use_bias = false, .input_dim = 4}));
  }
  Tensor forward(const Tensor& x) override { return layers->forward(q_proj->forward(x * scale)); }
  std::string name() const override { return "Block"; }
  Tensor scale;
  std::shared_ptr<Dense> q_proj;
  std::shared_ptr<Sequential> layers;
};

std::vector<std::string> names_of(const NamedTensors& list) {
  std::vector<std::string> out;
  for (const auto& nt : list) out.push_back(nt.name);
  return out;
}

TEST(Module, NestedNames) {
  auto encoder = std::make_shared<Sequential>();
  encoder->add(std::make_shared<Block>());
  Sequential root;
  root.register_module("encoder", encoder);
  const std::vector<std::string> expected = {"encoder.0.scale",         "encoder.0.q_proj.weight",
                                             "encoder.0.q_proj.bias",   "encoder.0.layers.0.weight",
                                             "encoder.0.layers.0.bias", "encoder.0.layers.2.weight"};
  EXPECT_EQ(names_of(root.named_parameters()), expected);
  EXPECT_EQ(names_of(root.named_buffers()), std::vector<std::string>{"encoder.0.steps"});
  EXPECT_EQ(root.parameters().size(), 6u);
  EXPECT_EQ(root.state().size(), 7u);
  EXPECT_EQ(root.num_parameters(), 3 + 9 + 3 + 12 + 4 + 8);
  for (const auto& t : root.parameters()) EXPECT_TRUE(t.requires_grad());
  auto modules = root.named_modules();
  ASSERT_EQ(modules.size(), 8u);
  EXPECT_EQ(modules[0].first, "");
  EXPECT_EQ(modules[3].first, "encoder.0.q_proj");
  EXPECT_EQ(modules[3].second->name(), "Dense");
  EXPECT_EQ(modules[5].first, "encoder.0.layers.0");
}

TEST(Module, TransformerStyleNames) {
  // encoder.layers.0.attn.q_proj.weight: a Module holding a Sequential of blocks with attention.
  class EncoderBlock : public Module {
   public:
    EncoderBlock() { register_module("attn", std::make_shared<MultiHeadAttention>(2, 2)); }
    std::string name() const override { return "EncoderBlock"; }
  };
  auto layers = std::make_shared<Sequential>();
  layers->add(std::make_shared<EncoderBlock>()).add(std::make_shared<EncoderBlock>());
  auto encoder = std::make_shared<Sequential>();
  encoder->register_module("layers", layers);
  Sequential root;
  root.register_module("encoder", encoder);
  auto names = names_of(root.named_parameters());
  ASSERT_EQ(names.size(), 16u);
  EXPECT_EQ(names[0], "encoder.layers.0.attn.q_proj.weight");
  EXPECT_EQ(names[15], "encoder.layers.1.attn.out_proj.bias");
}

TEST(Module, RegistrationErrors) {
  Block b;
  EXPECT_THROW_MSG(b.register_parameter("scale", ones({1})), "[Block] cannot register parameter 'scale'");
  EXPECT_THROW_MSG(b.register_buffer("a.b", ones({1})), "must not contain '.'");
  EXPECT_THROW_MSG(b.register_module("", std::make_shared<Flatten>()), "name must not be empty");
  EXPECT_THROW_MSG(b.register_parameter("nonleaf", ones({1}).set_requires_grad() * 2.0), "must be a leaf");
  EXPECT_THROW_MSG(b.tensor("nope"), "[Block] has no parameter or buffer named 'nope'");
  EXPECT_THROW_MSG(b.layers->at(3), "[Sequential] index 3 out of range for 3 layers");
  EXPECT_THROW_MSG(b.output_shape({2, 3}), "[Block] output_shape is not implemented");
  Sequential s;
  ModuleList list;
  EXPECT_THROW_MSG(list.forward(ones({1})), "[ModuleList] this module has no forward");
}

TEST(Module, TrainEvalPropagates) {
  auto block = std::make_shared<Block>();
  Sequential root{block};
  EXPECT_TRUE(root.is_training());
  root.eval();
  for (auto& [n, m] : root.named_modules()) EXPECT_FALSE(m->is_training()) << n;
  block->layers->train();
  EXPECT_FALSE(root.is_training());
  EXPECT_TRUE(block->layers->at(1)->is_training());
  root.train();
  for (auto& [n, m] : root.named_modules()) EXPECT_TRUE(m->is_training()) << n;
}

TEST(Module, ZeroGrad) {
  Block b;
  sum(b.forward(ones({2, 3}))).backward();
  for (const auto& t : b.parameters()) EXPECT_TRUE(t.grad().defined());
  b.zero_grad();
  for (const auto& t : b.parameters()) EXPECT_FALSE(t.grad().defined());
}

TEST(Module, StateRoundTrip) {
  manual_seed(1);
  Block a;
  Block b;
  Tensor x = randn({2, 3});
  ASSERT_FALSE(test::all_close(a.forward(x), b.forward(x)));  // different seeds, different weights
  Tensor weight_before = b.q_proj->weight();
  NamedTensors state = a.state();
  state[6].tensor = full({1}, 5.0);  // the buffer travels too
  LoadReport report = b.load_state(state);
  EXPECT_TRUE(report.missing.empty() && report.unexpected.empty());
  EXPECT_TRUE(test::all_close(a.forward(x), b.forward(x), 0, 0));
  EXPECT_TRUE(b.q_proj->weight().is_same(weight_before));  // loaded in place
  EXPECT_EQ(b.tensor("steps").item(), 5.0);
  // State saved as float64 loads with a conversion.
  NamedTensors doubled;
  for (const auto& nt : a.state()) doubled.push_back({nt.name, nt.tensor.to(DType::kF64)});
  b.load_state(doubled);
  EXPECT_TRUE(test::all_close(a.forward(x), b.forward(x), 0, 0));
}

TEST(Module, LoadStateErrors) {
  Block b;
  NamedTensors state = b.state();
  Tensor before = b.scale.clone();
  NamedTensors missing(state.begin() + 1, state.end());
  EXPECT_THROW_MSG(b.load_state(missing), "[load_state] Block: missing from the state: scale");
  NamedTensors extra = state;
  extra.push_back({"layers.7.weight", ones({1})});
  EXPECT_THROW_MSG(b.load_state(extra), "unexpected in the state: layers.7.weight");
  NamedTensors both = missing;
  both.push_back({"bogus", ones({1})});
  EXPECT_THROW_MSG(b.load_state(both), "missing from the state: scale; unexpected in the state: bogus");
  NamedTensors wrong = state;
  wrong[0].tensor = full({4}, 9.0);
  EXPECT_THROW_MSG(b.load_state(wrong), "shape mismatch: 'scale' is (3,) in the module but (4,) in the state");
  EXPECT_THROW_MSG(b.load_state(wrong, false), "shape mismatch");
  NamedTensors dup = state;
  dup.push_back(state[0]);
  EXPECT_THROW_MSG(b.load_state(dup), "name 'scale' appears twice");
  EXPECT_TRUE(test::all_close(b.scale, before, 0, 0));  // nothing was modified
  // Non-strict loads what matches and reports the rest.
  both[0].tensor = full(both[0].tensor.shape(), 2.0);
  LoadReport report = b.load_state(both, false);
  EXPECT_EQ(report.missing, std::vector<std::string>{"scale"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"bogus"});
  EXPECT_TRUE(test::all_close(b.q_proj->weight(), full({3, 3}, 2.0), 0, 0));
}

TEST(Module, LazyBuildIsDeterministicAndLoadable) {
  // Lazy and eager builds draw the same weights from the module's own generator, even when
  // the global generator is used in between.
  manual_seed(7);
  Dense eager(5, {.input_dim = 4});
  manual_seed(7);
  Dense lazy(5);
  EXPECT_FALSE(lazy.built());
  EXPECT_TRUE(lazy.parameters().empty());
  (void)randn({100});
  Tensor x = randn({2, 4});
  Tensor y = lazy.forward(x);
  EXPECT_EQ(y.shape(), (Shape{2, 5}));
  EXPECT_TRUE(test::all_close(lazy.weight(), eager.weight(), 0, 0));
  EXPECT_TRUE(test::all_close(y, eager.forward(x), 0, 0));
  // An unbuilt lazy layer builds from a checkpoint's shapes.
  Sequential model{std::make_shared<Dense>(5), std::make_shared<Dense>(2, DenseOptions{.activation = "tanh"})};
  Sequential source{std::make_shared<Dense>(5, DenseOptions{.input_dim = 4}),
                    std::make_shared<Dense>(2, DenseOptions{.activation = "tanh", .input_dim = 5})};
  model.load_state(source.state());
  EXPECT_TRUE(test::all_close(model.forward(x), source.forward(x), 0, 0));
  // build() walks a Sequential with output shapes.
  Sequential fresh{std::make_shared<Dense>(6), std::make_shared<Dense>(3)};
  fresh.build({1, 4});
  EXPECT_EQ(fresh.num_parameters(), 6 * 4 + 6 + 3 * 6 + 3);
  EXPECT_EQ(fresh.output_shape({8, 4}), (Shape{8, 3}));
}

}  // namespace
}  // namespace forge::nn
