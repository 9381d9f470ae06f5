// LSTM, GRU, MultiHeadAttention layers: shapes, options, gradients through the layer, errors.
#include "nn/layers/attention.h"
#include "nn/layers/recurrent.h"
#include "test_util.h"

namespace forge::nn {
namespace {

using test::grad_ok;
using test::randn_leaf;

TEST(LSTM, ShapesAndOptions) {
  LSTM last(5);
  EXPECT_EQ(last.name(), "LSTM");
  Tensor x = randn({2, 4, 3});
  EXPECT_EQ(last.forward(x).shape(), (Shape{2, 5}));
  EXPECT_EQ(last.output_shape({2, 4, 3}), (Shape{2, 5}));
  std::vector<std::string> names;
  for (const auto& nt : last.named_parameters()) names.push_back(nt.name);
  EXPECT_EQ(names, (std::vector<std::string>{"weight_ih", "weight_hh", "bias_ih", "bias_hh"}));
  EXPECT_EQ(last.tensor("weight_ih").shape(), (Shape{20, 3}));
  EXPECT_EQ(last.tensor("weight_hh").shape(), (Shape{20, 5}));

  LSTM seq(5, {.return_sequences = true, .return_state = true, .input_size = 3});
  EXPECT_EQ(seq.forward(x).shape(), (Shape{2, 4, 5}));
  EXPECT_EQ(seq.output_shape({2, 4, 3}), (Shape{2, 4, 5}));
  Tensors all = seq.call(x);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1].shape(), (Shape{2, 5}));
  EXPECT_EQ(all[2].shape(), (Shape{2, 5}));
  // The last step of the sequence is the final h.
  EXPECT_TRUE(test::all_close(all[0].select(1, 3), all[1]));
  LSTM nb(2, {.use_bias = false, .input_size = 3});
  EXPECT_EQ(nb.named_parameters().size(), 2u);
  EXPECT_EQ(nb.forward(x).shape(), (Shape{2, 2}));
}

TEST(GRU, ShapesAndOptions) {
  GRU g(4, {.return_sequences = false, .return_state = true});
  Tensor x = randn({3, 2, 5});
  EXPECT_EQ(g.forward(x).shape(), (Shape{3, 4}));
  EXPECT_EQ(g.tensor("weight_ih").shape(), (Shape{12, 5}));
  Tensors all = g.call(x);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(test::all_close(all[0], all[1]));
}

TEST(Recurrent, Gradcheck) {
  LSTM l(3, {.return_sequences = true, .input_size = 2});
  Tensors in{randn_leaf({2, 3, 2}, 1)};
  for (const auto& p : l.parameters()) in.push_back(p);
  EXPECT_TRUE(grad_ok([&](const Tensors& t) { return l.forward(t[0]); }, in));
  GRU g(3, {.input_size = 2});
  Tensors gin{randn_leaf({2, 3, 2}, 2)};
  for (const auto& p : g.parameters()) gin.push_back(p);
  EXPECT_TRUE(grad_ok([&](const Tensors& t) { return g.forward(t[0]); }, gin));
}

TEST(Recurrent, Errors) {
  EXPECT_THROW_MSG(LSTM(0), "[LSTM] units must be positive, got 0");
  LSTM l(3, {.input_size = 2});
  EXPECT_THROW_MSG(l.forward(randn({2, 3})), "[LSTM] input must be 3-d (N,T,features), got (2,3)");
  EXPECT_THROW_MSG(l.forward(randn({2, 3, 4})), "[LSTM] input has 4 features (last axis of (2,3,4)), expected 2");
}

TEST(MultiHeadAttention, ShapesNamesGradcheck) {
  MultiHeadAttention mha(2, 3);
  EXPECT_EQ(mha.embed_dim(), 6);
  std::vector<std::string> names;
  for (const auto& nt : mha.named_parameters()) names.push_back(nt.name);
  EXPECT_EQ(names, (std::vector<std::string>{"q_proj.weight", "q_proj.bias", "k_proj.weight", "k_proj.bias",
                                             "v_proj.weight", "v_proj.bias", "out_proj.weight", "out_proj.bias"}));
  Tensor x = randn_leaf({2, 4, 6}, 3);
  EXPECT_EQ(mha.forward(x).shape(), (Shape{2, 4, 6}));
  EXPECT_EQ(mha.output_shape({2, 4, 6}), (Shape{2, 4, 6}));
  Tensor kv = randn({2, 5, 6});
  EXPECT_EQ(mha.forward(x, kv, kv).shape(), (Shape{2, 4, 6}));
  Tensors in{x};
  for (const auto& p : mha.parameters()) in.push_back(p);
  EXPECT_TRUE(grad_ok([&](const Tensors& t) { return mha.forward(t[0]); }, in));
  // Causal self-attention: the first position only sees itself, so it ignores later tokens.
  MultiHeadAttention causal(2, 3, {.causal = true});
  Tensor y1 = causal.forward(x);
  Tensor x2 = x.detach().clone();
  fill_(x2.select(1, 3), 9.0);
  EXPECT_TRUE(test::all_close(causal.forward(x2).select(1, 0), y1.select(1, 0)));
}

TEST(MultiHeadAttention, Errors) {
  EXPECT_THROW_MSG(MultiHeadAttention(0, 4), "[MultiHeadAttention] num_heads and key_dim must be positive");
  MultiHeadAttention mha(2, 3);
  EXPECT_THROW_MSG(mha.forward(randn({2, 4, 5})), "[MultiHeadAttention] query must be (N,T,6)");
}

}  // namespace
}  // namespace forge::nn
