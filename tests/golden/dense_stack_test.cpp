// PyTorch parity for the Dense-stack inference fast path (nn/dense_stack.h): whole MLPs on
// 1 to 4 rows, through Sequential::forward under no-grad and through dense_stack_forward.
#include <fmt/format.h>

#include "nn/dense_stack.h"
#include "nn/nn.h"

#include "golden/golden.h"

namespace forge {
namespace {

void check_case(const std::string& name) {
  const auto& c = golden::get("dense_stack", name);
  const auto acts = c.args()["acts"].get<std::vector<std::string>>();
  const bool bias = c.args()["bias"].get<bool>();
  nn::Sequential net;
  NamedTensors state;
  for (size_t i = 0; i < acts.size(); ++i) {
    const Tensor w = c.get(fmt::format("w{}", i));
    nn::DenseOptions o;
    o.activation = acts[i];
    o.use_bias = bias;
    o.input_dim = w.shape()[1];
    net.add(std::make_shared<nn::Dense>(w.shape()[0], o));
    state.push_back({fmt::format("{}.weight", i), w});
    if (bias) state.push_back({fmt::format("{}.bias", i), c.get(fmt::format("b{}", i))});
  }
  net.load_state(state);
  NoGradGuard no_grad;
  const Tensor x = c.input(0, false);
  const Tensor fast = nn::dense_stack_forward(net, x);
  ASSERT_TRUE(fast.defined()) << name;
  EXPECT_TRUE(c.expect("out", fast)) << name;
  EXPECT_TRUE(c.expect("out", net(x))) << name;
}

TEST(GoldenDenseStack, Mlp784) { check_case("mlp_784_24_10"); }
TEST(GoldenDenseStack, WidthsAndRows) { check_case("widths_rows3"); }
TEST(GoldenDenseStack, NoBias) { check_case("rows4_no_bias"); }
TEST(GoldenDenseStack, OneDimensionalInput) { check_case("one_d_input"); }

}  // namespace
}  // namespace forge
