// Conv1D, Conv2D and pooling layers: shapes (forward agrees with output_shape), gradients, errors.
#include "nn/layers/conv.h"
#include "nn/layers/pool.h"
#include "test_util.h"

namespace forge::nn {
namespace {

using test::grad_ok;
using test::randn_leaf;

TEST(Conv2D, ShapesAndGradcheck) {
  for (const char* padding : {"valid", "same"}) {
    Conv2D conv(4, {3, 2}, {.strides = {2, 1}, .padding = padding});
    Tensor x = randn_leaf({2, 3, 7, 6}, 1);
    Tensor y = conv.forward(x);
    EXPECT_EQ(y.shape(), conv.output_shape(x.shape())) << padding;
    EXPECT_EQ(conv.weight().shape(), (Shape{4, 3, 3, 2}));
    EXPECT_TRUE(grad_ok([&](const Tensors& in) { return conv.forward(in[0]); }, {x, conv.weight(), conv.bias()}));
  }
  EXPECT_EQ(Conv2D(4, 3).output_shape({2, 3, 7, 6}), (Shape{2, 4, 5, 4}));
  EXPECT_EQ(Conv2D(4, 3, {.padding = "same"}).output_shape({2, 3, 7, 6}), (Shape{2, 4, 7, 6}));
}

TEST(Conv1D, ShapesAndGradcheck) {
  Conv1D conv(4, 3, {.activation = "relu", .in_channels = 2});
  Tensor x = randn_leaf({2, 2, 9}, 2);
  EXPECT_EQ(conv.forward(x).shape(), (Shape{2, 4, 7}));
  EXPECT_EQ(conv.output_shape({2, 2, 9}), (Shape{2, 4, 7}));
  Conv1D smooth(3, 2, {.strides = 2, .padding = "same", .activation = "tanh"});
  EXPECT_EQ(smooth.forward(x).shape(), smooth.output_shape(x.shape()));
  EXPECT_TRUE(grad_ok([&](const Tensors& in) { return smooth.forward(in[0]); }, {x, smooth.weight(), smooth.bias()}));
}

TEST(Conv, Errors) {
  EXPECT_THROW_MSG(Conv2D(4, 3, {.padding = "full"}), "[Conv2D] padding must be 'valid' or 'same', got 'full'");
  EXPECT_THROW_MSG(Conv2D(0, 3), "[Conv2D] filters must be positive, got 0");
  EXPECT_THROW_MSG(Conv1D(3, 2, {.groups = 2}), "[Conv1D] filters (3) must be divisible by groups (2)");
  Conv2D conv(4, 3, {.in_channels = 3});
  EXPECT_THROW_MSG(conv.forward(randn({2, 3, 5})), "[Conv2D] input must be 4-d (N,C,H,W), got (2,3,5)");
  EXPECT_THROW_MSG(conv.forward(randn({2, 2, 5, 5})),
                   "[Conv2D] input has 2 channels (axis 1 of (2,2,5,5)), expected 3");
}

TEST(Pooling, ShapesAndGradcheck) {
  // Distinct values at least 0.1 apart, so finite differences never cross a max-pool kink.
  auto separated = [](const Shape& shape) {
    Generator gen(11);
    return (randperm(numel_of(shape), &gen).to(DType::kF32) * 0.1).reshape(shape).detach().set_requires_grad();
  };
  Tensor x2 = separated({2, 3, 6, 5});
  Tensor x1 = separated({2, 3, 7});
  std::vector<std::pair<ModulePtr, Tensor>> cases = {
      {std::make_shared<MaxPooling2D>(), x2},
      {std::make_shared<AveragePooling2D>(std::array<int64_t, 2>{3, 2}, Pool2DOptions{.strides = {1, 2}}), x2},
      {std::make_shared<MaxPooling2D>(std::array<int64_t, 2>{2, 2}, Pool2DOptions{.padding = "same"}), x2},
      {std::make_shared<MaxPooling1D>(2), x1},
      {std::make_shared<MaxPooling1D>(3, Pool1DOptions{.strides = 1}), x1},
      {std::make_shared<GlobalMaxPooling1D>(), x1},
      {std::make_shared<GlobalAveragePooling1D>(), x1},
      {std::make_shared<GlobalMaxPooling2D>(), x2},
      {std::make_shared<GlobalAveragePooling2D>(), x2},
  };
  for (auto& [layer, x] : cases) {
    EXPECT_EQ(layer->forward(x).shape(), layer->output_shape(x.shape())) << layer->name();
    EXPECT_TRUE(grad_ok([&](const Tensors& in) { return layer->forward(in[0]); }, {x})) << layer->name();
  }
  EXPECT_EQ(MaxPooling2D().output_shape({2, 3, 6, 5}), (Shape{2, 3, 3, 2}));
  EXPECT_EQ(GlobalAveragePooling2D().output_shape({2, 3, 6, 5}), (Shape{2, 3}));
  EXPECT_EQ(GlobalAveragePooling2D().name(), "GlobalAveragePooling2D");
  EXPECT_EQ(MaxPooling1D().name(), "MaxPooling1D");
}

TEST(Pooling, Errors) {
  EXPECT_THROW_MSG(MaxPooling2D({0, 2}), "[MaxPooling2D] pool_size must be positive");
  EXPECT_THROW_MSG(MaxPooling1D(2, {.padding = "causal"}), "[MaxPooling1D] padding must be 'valid' or 'same'");
  EXPECT_THROW_MSG(MaxPooling2D().forward(randn({2, 3, 4})), "[MaxPooling2D] input must be 4-d (N,C,H,W)");
  EXPECT_THROW_MSG(GlobalMaxPooling1D().forward(randn({2, 3})), "[GlobalMaxPooling1D] input must be 3-d (N,C,L)");
}

}  // namespace
}  // namespace forge::nn
