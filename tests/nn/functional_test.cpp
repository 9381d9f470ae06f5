#include "nn/functional.h"

#include <gtest/gtest.h>

#include "nn/layers/core.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/linalg.h"
#include "test_util.h"

namespace forge::nn {
namespace {

std::shared_ptr<Dense> dense(int64_t units, const std::string& activation = "linear") {
  DenseOptions o;
  o.activation = activation;
  return std::make_shared<Dense>(units, o);
}

TEST(Functional, ResidualGraphComputesTheSameAsByHand) {
  manual_seed(3);
  auto in = Input({4});
  auto d1 = dense(4, "relu");
  auto d2 = dense(4);
  auto d3 = dense(2);
  auto h = call(d1, in);
  auto r = add({h, call(d2, h)});
  auto out = call(d3, concatenate({r, in}));  // [8] -> [2]
  auto net = std::make_shared<Functional>(in, out);
  EXPECT_EQ(net->nodes().size(), 6u);
  EXPECT_EQ(net->nodes()[1]->name, "dense");
  EXPECT_EQ(net->nodes().back()->name, "dense_2") << "every unnamed Dense gets a counter";
  EXPECT_EQ(net->named_parameters().size(), 6u);

  Tensor x = test::randn_leaf({5, 4}, 11).detach();
  Tensor hx = d1->forward(x);
  Tensor expect = d3->forward(concat({add(hx, d2->forward(hx)), x}, 1));
  EXPECT_TRUE(test::all_close(net->forward(x), expect));
  EXPECT_EQ(net->output_shape({7, 4}), (Shape{7, 2}));
  EXPECT_EQ(out->shape, (Shape{1, 2}));
}

TEST(Functional, GradientsFlowThroughEveryBranch) {
  manual_seed(5);
  auto in = Input({3});
  auto a = call(dense(3, "tanh"), in);
  auto b = call(dense(3, "sigmoid"), in);
  auto out = call(dense(2), average({multiply({a, b}), maximum({a, b}), subtract({a, b})}));
  auto net = std::make_shared<Functional>(in, out);
  Tensor x = test::randn_leaf({2, 3}, 4);
  EXPECT_TRUE(test::grad_ok([&](const Tensors& t) { return net->forward(t[0]); }, {x}));
  Tensors params = net->parameters();
  EXPECT_TRUE(test::grad_ok(
      [&](const Tensors&) { return net->forward(x.detach()); }, params));
}

TEST(Functional, ErrorsNameTheLayer) {
  auto in = Input({4});
  auto h = call(dense(3), in, "h");
  EXPECT_THROW_MSG(add({h, in}), "[functional] Add: input shapes differ: (None, 3) vs (None, 4)");
  EXPECT_THROW_MSG(add({h}), "needs at least 2 inputs");
  EXPECT_THROW_MSG(concatenate({h, in}, 0), "axis 0 is out of range");
  auto other = Input({4}, "other");
  auto mixed = add({call(dense(3), other), h});
  EXPECT_THROW_MSG(Functional(in, mixed), "depends on input 'other' (InputLayer), which is not the model's input");
  auto shared = dense(3);
  auto twice = add({call(shared, in), call(shared, in)});
  EXPECT_THROW_MSG(Functional(in, twice), "is used twice; shared layers are not supported");
  auto dup = add({h, call(dense(3), in, "h")});
  EXPECT_THROW_MSG(Functional(in, dup), "two layers are named 'h'");
  Functional net(in, h);
  EXPECT_THROW_MSG(net.forward(zeros({2, 5})), "expected inputs of shape (None, 4), got (2,5)");
}

TEST(Functional, FromLayerSpecs) {
  auto specs = nlohmann::json::parse(R"([
    {"type": "Dense", "units": 8, "activation": "relu", "name": "a"},
    {"type": "Dense", "units": 8, "name": "b"},
    {"type": "Add", "inputs": ["a", "b"], "name": "sum"},
    {"type": "Concatenate", "inputs": ["sum", "input"]},
    {"type": "Dense", "units": 3}])");
  EXPECT_TRUE(is_graph_spec(specs));
  EXPECT_FALSE(is_graph_spec(nlohmann::json::parse(R"([{"type": "Dense", "units": 3}])")));
  auto net = make_functional(specs, {4});
  EXPECT_EQ(net->output_shape({2, 4}), (Shape{2, 3}));
  EXPECT_EQ(net->forward(zeros({2, 4})).shape(), (Shape{2, 3}));
  std::vector<std::string> names;
  for (const auto& p : net->named_parameters()) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"a.weight", "a.bias", "b.weight", "b.bias", "dense.weight", "dense.bias"}));

  auto bad_input = nlohmann::json::parse(R"([{"type": "Dense", "units": 2}, {"type": "Add", "inputs": ["dense", "x"]}])");
  EXPECT_THROW_MSG(make_functional(bad_input, {4}), "[layers] layer 1 (Add): unknown input 'x' (known: input, dense)");
  auto bad_shape = nlohmann::json::parse(R"([{"type": "Dense", "units": 2}, {"type": "Add", "inputs": ["dense", "input"]}])");
  EXPECT_THROW_MSG(make_functional(bad_shape, {4}), "[layers] layer 1 (Add): [functional] 'add' (Add): input shapes differ: (None, 2) vs (None, 4)");
  auto two_in = nlohmann::json::parse(R"([{"type": "Dense", "units": 2, "inputs": ["input", "input"]}])");
  EXPECT_THROW_MSG(make_functional(two_in, {4}), "[layers] layer 0 (Dense): takes one input, got 2");
  auto bad_arg = nlohmann::json::parse(R"([{"type": "Add", "inputs": ["input", "input"], "axis": 1}])");
  EXPECT_THROW_MSG(make_functional(bad_arg, {4}), "unknown argument 'axis'");
}

}  // namespace
}  // namespace forge::nn
