// Embedding and Dropout layers.
#include "nn/layers/dropout.h"
#include "nn/layers/embedding.h"
#include "test_util.h"

namespace forge::nn {
namespace {

TEST(Embedding, ShapeInitAndGradcheck) {
  Embedding e(10, 4, {.padding_idx = 0});
  EXPECT_EQ(e.weight().shape(), (Shape{10, 4}));
  for (float w : e.weight().to_vector<float>()) EXPECT_LE(std::abs(w), 0.05f);
  EXPECT_TRUE(test::all_close(e.weight().select(0, 0), zeros({4}), 0, 0));
  Tensor idx = from_vector<int64_t>({1, 0, 9, 3, 3, 2}, {2, 3});
  Tensor y = e.forward(idx);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.output_shape({2, 3}), (Shape{2, 3, 4}));
  // The padding row gets no gradient by design; check the gradient of a layer without one.
  Embedding plain(10, 4);
  EXPECT_TRUE(test::grad_ok([&](const Tensors& in) { return plain.forward(idx); }, {plain.weight()}));
  sum(e.forward(idx)).backward();
  EXPECT_TRUE(test::all_close(e.weight().grad().select(0, 0), zeros({4}), 0, 0));
  EXPECT_TRUE(test::all_close(e.weight().grad().select(0, 3), full({4}, 2.0), 0, 0));
  EXPECT_THROW_MSG(Embedding(10, 4, {.padding_idx = 10}), "[Embedding] padding_idx 10 out of range for input_dim 10");
  EXPECT_THROW_MSG(Embedding(0, 4), "[Embedding] input_dim and output_dim must be positive");
}

TEST(Dropout, TrainEvalAndDeterminism) {
  manual_seed(3);
  Dropout a(0.5);
  manual_seed(3);
  Dropout b(0.5);
  Tensor x = ones({1000});
  Tensor ya = a.forward(x);
  EXPECT_TRUE(test::all_close(ya, b.forward(x), 0, 0));  // same seed, same masks
  double kept = sum(ya).item() / 2.0;
  EXPECT_NEAR(kept, 500, 60);
  a.eval();
  EXPECT_TRUE(test::all_close(a.forward(x), x, 0, 0));
  EXPECT_EQ(a.output_shape({3, 4}), (Shape{3, 4}));
  EXPECT_THROW_MSG(Dropout(1.0), "[Dropout] rate must be in [0, 1), got 1");
}

}  // namespace
}  // namespace forge::nn
