// PyTorch parity for the fused linear ops (goldens from tools/golden/families/linalg_fused.py).
#include "golden/golden.h"
#include "ops/linalg.h"

namespace forge {
namespace {

TEST(GoldenLinalgFused, LinearRelu) {
  for (const char* name : {"linear_relu_rows6", "linear_relu_rows3", "linear_relu_rows1", "linear_relu_3d"}) {
    const auto& c = golden::get("linalg_fused", name);
    Tensor x = c.input(0), w = c.input(1), b = c.input(2);
    EXPECT_TRUE(c.check(linear_relu(x, w, b), {x, w, b})) << name;
  }
  const auto& c = golden::get("linalg_fused", "linear_relu_nobias");
  Tensor x = c.input(0), w = c.input(1);
  EXPECT_TRUE(c.check(linear_relu(x, w), {x, w}));
}

TEST(GoldenLinalgFused, LinearSingleRow) {
  const auto& c = golden::get("linalg_fused", "linear_rows1");
  Tensor x = c.input(0), w = c.input(1), b = c.input(2);
  EXPECT_TRUE(c.check(linear(x, w, b), {x, w, b}));
}

}  // namespace
}  // namespace forge
