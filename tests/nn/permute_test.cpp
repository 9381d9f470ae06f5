#include "nn/layers/permute.h"

#include "test_util.h"

namespace forge::nn {
namespace {

TEST(Permute, ShapesGradientAndErrors) {
  Permute p({2, 1});
  EXPECT_EQ(p.output_shape({4, 7, 3}), (Shape{4, 3, 7}));
  EXPECT_TRUE(test::grad_ok([&](const Tensors& t) { return p.forward(t[0]); }, {test::randn_leaf({2, 3, 4}, 1)}));
  EXPECT_THROW_MSG(Permute({1, 3}), "[Permute] dims must be a permutation of 1..2 (axis 0 is the batch), got [1, 3]");
  EXPECT_THROW_MSG(p.forward(zeros({2, 3})), "[Permute] dims [2, 1] need a 3-d input (batch + 2 axes), got (2,3)");
}

}  // namespace
}  // namespace forge::nn
