// PyTorch parity for Conv2D (tools/golden/families/nn.py).
#include "golden/golden.h"
#include "nn/layers/conv.h"

namespace forge::nn {
namespace {

TEST(GoldenNN, Conv2D) {
  const auto& c = golden::get("nn", "conv2d_valid_stride");
  Conv2D conv(4, {3, 2}, {.strides = {2, 1}});
  conv.load_state({{"weight", c.get("in1")}, {"bias", c.get("in2")}});
  Tensor x = c.input(0);
  EXPECT_TRUE(c.check(conv.forward(x), golden::inputs_of(x, conv)));
  const auto& s = golden::get("nn", "conv2d_same");
  Conv2D same(3, 3, {.padding = "same", .in_channels = 2});
  same.load_state({{"weight", s.get("in1")}, {"bias", s.get("in2")}});
  Tensor xs = s.input(0);
  EXPECT_TRUE(s.check(same.forward(xs), golden::inputs_of(xs, same)));
}

}  // namespace
}  // namespace forge::nn
