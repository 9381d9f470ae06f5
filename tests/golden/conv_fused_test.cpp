// PyTorch parity for the fused convolution fast paths (conv2d_relu, conv1d_relu) and the
// 2x2 / stride-2 max-pool kernel (goldens from tools/golden/families/conv_fused.py), in f32 and
// with the blocked-layout oneDNN kernels Forge uses by default.
#include "golden/golden.h"
#include "ops/conv.h"
#include "ops/pool.h"

namespace forge {
namespace {

void check_conv_relu(const std::string& name) {
  const auto& c = golden::get("conv_fused", name);
  Tensor x = c.input(0), w = c.input(1);
  Tensor b = c.has("in2") ? c.input(2) : Tensor();
  const int64_t pad = c.args().at("padding").get<int64_t>();
  const int64_t groups = c.args().at("groups").get<int64_t>();
  const Padding padding = pad == 0 ? Padding::valid() : Padding::explicit_({pad, pad});
  Tensor out = x.dim() == 3 ? conv1d_relu(x, w, b, 1, Padding::valid(), 1, groups)
                            : conv2d_relu(x, w, b, {1, 1}, padding, {1, 1}, groups);
  // (Not {x, w} + push_back: inlined in a unity batch, GCC 12 warns falsely about array bounds.)
  const Tensors inputs = b.defined() ? Tensors{x, w, b} : Tensors{x, w};
  EXPECT_TRUE(c.check(out, inputs)) << name;
}

TEST(ConvFusedGolden, Conv2dRelu) {
  for (const char* name : {"conv2d_relu_first", "conv2d_relu_deep", "conv2d_relu_nobias_groups", "conv1d_relu"})
    check_conv_relu(name);
}

TEST(ConvFusedGolden, MaxPool2x2) {
  for (const char* name : {"max_pool2x2_even", "max_pool2x2_odd"}) {
    const auto& c = golden::get("conv_fused", name);
    Tensor x = c.input(0);
    EXPECT_TRUE(c.check(max_pool2d(x, {2, 2}, {0, 0}), {x})) << name;
  }
}

}  // namespace
}  // namespace forge
