// Gradient checks and error messages for ops/rnn (PyTorch parity: tests/golden/rnn_test.cpp).
#include "ops/rnn.h"

#include "test_util.h"

namespace forge {
namespace {

using test::grad_ok;

// Leaves are N(0, scale^2) (test::randn_leaf); small weights keep the gates away from saturation.
constexpr int64_t kBatch = 2, kInput = 3, kHidden = 4, kTime = 3;

TEST(Rnn, LstmCellGradcheck) {
  Tensors in{test::randn_leaf({kBatch, kInput}, 1),
             test::randn_leaf({kBatch, kHidden}, 2),
             test::randn_leaf({kBatch, kHidden}, 3),
             test::randn_leaf({4 * kHidden, kInput}, 4, 0.5),
             test::randn_leaf({4 * kHidden, kHidden}, 5, 0.5),
             test::randn_leaf({4 * kHidden}, 6, 0.5),
             test::randn_leaf({4 * kHidden}, 7, 0.5)};
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        LSTMState s = lstm_cell(t[0], {t[1], t[2]}, t[3], t[4], t[5], t[6]);
        return add(s.h, mul(s.c, 0.7));  // both outputs reach the objective
      },
      in));
}

TEST(Rnn, GruCellGradcheck) {
  Tensors in{test::randn_leaf({kBatch, kInput}, 11),           test::randn_leaf({kBatch, kHidden}, 12),
             test::randn_leaf({3 * kHidden, kInput}, 13, 0.5), test::randn_leaf({3 * kHidden, kHidden}, 14, 0.5),
             test::randn_leaf({3 * kHidden}, 15, 0.5),         test::randn_leaf({3 * kHidden}, 16, 0.5)};
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return gru_cell(t[0], t[1], t[2], t[3], t[4], t[5]); }, in));
}

TEST(Rnn, LstmGradcheck) {
  Tensors in{test::randn_leaf({kBatch, kTime, kInput}, 21),
             test::randn_leaf({4 * kHidden, kInput}, 22, 0.5),
             test::randn_leaf({4 * kHidden, kHidden}, 23, 0.5),
             test::randn_leaf({4 * kHidden}, 24, 0.5),
             test::randn_leaf({4 * kHidden}, 25, 0.5),
             test::randn_leaf({kBatch, kHidden}, 26),
             test::randn_leaf({kBatch, kHidden}, 27)};
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        RNNOutput o = lstm(t[0], t[1], t[2], t[3], t[4], {t[5], t[6]});
        // [B, T, H] + [B, 1, H]: the final cell state reaches the objective too.
        return add(o.sequence, unsqueeze(o.c, 1));
      },
      in));
}

TEST(Rnn, GruGradcheck) {
  Tensors in{test::randn_leaf({kBatch, kTime, kInput}, 31),     test::randn_leaf({3 * kHidden, kInput}, 32, 0.5),
             test::randn_leaf({3 * kHidden, kHidden}, 33, 0.5), test::randn_leaf({3 * kHidden}, 34, 0.5),
             test::randn_leaf({3 * kHidden}, 35, 0.5),          test::randn_leaf({kBatch, kHidden}, 36)};
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return gru(t[0], t[1], t[2], t[3], t[4], t[5]).sequence; }, in));
}

TEST(Rnn, GruWithoutBiasOrInitialStateGradcheck) {
  Tensors in{test::randn_leaf({kBatch, kTime, kInput}, 41), test::randn_leaf({3 * kHidden, kInput}, 42, 0.5),
             test::randn_leaf({3 * kHidden, kHidden}, 43, 0.5)};
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return gru(t[0], t[1], t[2], Tensor(), Tensor()).sequence; }, in));
}

TEST(Rnn, LayerMatchesCellLoop) {
  // The hoisted input projection and the zero-state shortcut must equal stepping the cell.
  Tensor x = test::randn_leaf({kBatch, kTime, kInput}, 51);
  Tensor w_ih = test::randn_leaf({4 * kHidden, kInput}, 52, 0.5),
         w_hh = test::randn_leaf({4 * kHidden, kHidden}, 53, 0.5);
  Tensor b_ih = test::randn_leaf({4 * kHidden}, 54), b_hh = test::randn_leaf({4 * kHidden}, 55);
  RNNOutput o = lstm(x, w_ih, w_hh, b_ih, b_hh);
  LSTMState s{zeros({kBatch, kHidden}), zeros({kBatch, kHidden})};
  for (int64_t t = 0; t < kTime; ++t) {
    s = lstm_cell(select(x, 1, t), s, w_ih, w_hh, b_ih, b_hh);
    EXPECT_TRUE(test::all_close(select(o.sequence, 1, t), s.h)) << "t=" << t;
  }
  EXPECT_TRUE(test::all_close(o.h, s.h));
  EXPECT_TRUE(test::all_close(o.c, s.c));

  Tensor gw_ih = test::randn_leaf({3 * kHidden, kInput}, 56, 0.5),
         gw_hh = test::randn_leaf({3 * kHidden, kHidden}, 57, 0.5);
  RNNOutput g = gru(x, gw_ih, gw_hh, Tensor(), test::randn_leaf({3 * kHidden}, 58));
  EXPECT_FALSE(g.c.defined());
  EXPECT_EQ(g.sequence.shape(), (Shape{kBatch, kTime, kHidden}));
  EXPECT_TRUE(test::all_close(select(g.sequence, 1, kTime - 1), g.h));
}

TEST(Rnn, Errors) {
  Tensor x = zeros({2, 5, 32});
  Tensor w_ih = zeros({128, 32}), w_hh = zeros({128, 32}), b = zeros({128});
  EXPECT_THROW_MSG(lstm(x, zeros({64, 32}), w_hh, b, b),
                   "[lstm] w_ih must be [4*hidden, input] = (128,32), got (64,32)");
  EXPECT_THROW_MSG(lstm(x, w_ih, zeros({96, 32}), b, b), "[lstm] w_hh must be [4*hidden, hidden]");
  EXPECT_THROW_MSG(lstm(x, w_ih, w_hh, zeros({64}), b), "[lstm] b_ih must be [4*hidden] = (128,), got (64,)");
  EXPECT_THROW_MSG(lstm(x, w_ih, w_hh, b, zeros({128, 1})), "[lstm] b_hh must be [4*hidden]");
  EXPECT_THROW_MSG(lstm(zeros({5, 32}), w_ih, w_hh, b, b), "[lstm] input must be 3-d [batch, time, input]");
  EXPECT_THROW_MSG(lstm(zeros({2, 0, 32}), w_ih, w_hh, b, b), "[lstm] input must have at least one timestep");
  EXPECT_THROW_MSG(lstm(x, w_ih, w_hh, b, b, {zeros({3, 32}), Tensor()}),
                   "[lstm] initial h must be [batch, hidden] = (2,32), got (3,32)");
  EXPECT_THROW_MSG(lstm(x, w_ih, w_hh, b, b, {Tensor(), zeros({2, 16})}), "[lstm] initial c must be");
  EXPECT_THROW_MSG(lstm(x, Tensor(), w_hh, b, b), "[lstm] w_ih and w_hh must be defined");

  Tensor g_ih = zeros({96, 32}), g_hh = zeros({96, 32}), gb = zeros({96});
  EXPECT_THROW_MSG(gru(x, w_ih, g_hh, gb, gb), "[gru] w_ih must be [3*hidden, input] = (96,32), got (128,32)");
  EXPECT_THROW_MSG(gru(x, g_ih, g_hh, gb, gb, zeros({2, 8})), "[gru] h0 must be [batch, hidden] = (2,32)");
  EXPECT_THROW_MSG(gru(zeros({2, 5, 16}), g_ih, g_hh, gb, gb), "[gru] w_ih must be [3*hidden, input] = (96,16)");

  Tensor xc = zeros({2, 32});
  EXPECT_THROW_MSG(lstm_cell(x, {}, w_ih, w_hh, b, b), "[lstm_cell] input must be 2-d [batch, input], got (2,5,32)");
  EXPECT_THROW_MSG(lstm_cell(xc, {zeros({2, 32}), zeros({2, 31})}, w_ih, w_hh, b, b),
                   "[lstm_cell] state.c must be [batch, hidden] = (2,32), got (2,31)");
  EXPECT_THROW_MSG(gru_cell(xc, zeros({1, 32}), g_ih, g_hh, gb, gb), "[gru_cell] h must be [batch, hidden]");
  EXPECT_THROW_MSG(gru_cell(xc, Tensor(), g_ih, g_hh, b, gb), "[gru_cell] b_ih must be [3*hidden] = (96,)");
}

}  // namespace
}  // namespace forge
