// PyTorch parity for nn layers with copied weights (goldens from tools/golden/families/nn.py).
#include "nn/nn.h"

#include "golden/golden.h"

namespace forge::nn {
namespace {

// Loads the case's parameter inputs in1, in2, ... under `names` (strictly: the names must be
// exactly the layer's parameters) plus the layer's own buffers.
void load_params(Module& layer, const golden::Case& c, const std::vector<std::string>& names,
                 NamedTensors buffers = {}) {
  NamedTensors state = std::move(buffers);
  for (size_t i = 0; i < names.size(); ++i) state.push_back({names[i], c.get("in" + std::to_string(i + 1))});
  layer.load_state(state);
}

TEST(GoldenNN, Dense) {
  const auto& c = golden::get("nn", "dense_tanh");
  Dense d(4, {.activation = "tanh"});  // lazy: built from the loaded state
  load_params(d, c, {"weight", "bias"});
  Tensor x = c.input(0);
  EXPECT_TRUE(c.check(d.forward(x), golden::inputs_of(x, d)));

  const auto& c3 = golden::get("nn", "dense_3d");
  Dense d3(4, {.input_dim = 5});
  load_params(d3, c3, {"weight", "bias"});
  Tensor x3 = c3.input(0);
  EXPECT_TRUE(c3.check(d3.forward(x3), golden::inputs_of(x3, d3)));
}

}  // namespace
}  // namespace forge::nn
