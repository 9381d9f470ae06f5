// The fused float32 LSTM (ops/rnn.cpp + backend/cpu/rnn.cpp) against the composed reference
// lstm_composed: outputs and every gradient (the finite-difference checks in rnn_test.cpp run in
// float64, which takes the composed path).
#include <gtest/gtest.h>

#include "autograd/engine.h"
#include "ops/reduce.h"
#include "ops/rnn.h"
#include "test_util.h"

namespace forge {
namespace {

double max_abs_diff(const Tensor& a, const Tensor& b) { return max(abs(sub(a.detach(), b.detach()))).item(); }

void compare(bool with_state, bool with_bias) {
  const int64_t B = 3, T = 5, I = 4, H = 6;
  Tensors in{test::randn_leaf({B, T, I}, 1, 1.0),  test::randn_leaf({4 * H, I}, 2, 0.5),
             test::randn_leaf({4 * H, H}, 3, 0.5), test::randn_leaf({4 * H}, 4, 0.5),
             test::randn_leaf({4 * H}, 5, 0.5),    test::randn_leaf({B, H}, 6, 1.0),
             test::randn_leaf({B, H}, 7, 1.0)};
  const Tensor weights = test::randn_leaf({B, T, H}, 8).detach();
  auto run = [&](bool fused) {
    for (Tensor& t : in) t.zero_grad();
    const Tensor b_ih = with_bias ? in[3] : Tensor(), b_hh = with_bias ? in[4] : Tensor();
    const LSTMState init = with_state ? LSTMState{in[5], in[6]} : LSTMState{};
    RNNOutput o =
        fused ? lstm(in[0], in[1], in[2], b_ih, b_hh, init) : lstm_composed(in[0], in[1], in[2], b_ih, b_hh, init);
    // Every output reaches the loss with a different weight.
    Tensor loss = add(add(sum(mul(o.sequence, weights)), mul(sum(o.h), 0.3)), mul(sum(o.c), 0.7));
    loss.backward();
    Tensors out{o.sequence.detach(), o.h.detach(), o.c.detach()};
    for (const Tensor& t : in) out.push_back(t.grad().defined() ? t.grad().clone() : Tensor());
    return out;
  };
  const Tensors fused = run(true), ref = run(false);
  for (size_t i = 0; i < ref.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_EQ(fused[i].defined(), ref[i].defined());
    if (ref[i].defined()) {
      EXPECT_LT(max_abs_diff(fused[i], ref[i]), 2e-5);
    }
  }
}

TEST(LstmFused, MatchesComposedWithStateAndBias) { compare(true, true); }
TEST(LstmFused, MatchesComposedWithoutStateOrBias) { compare(false, false); }

TEST(LstmFused, NoSecondDerivative) {
  Tensor x = test::randn_leaf({1, 2, 2}, 1, 1.0), w_ih = test::randn_leaf({8, 2}, 2, 0.5),
         w_hh = test::randn_leaf({8, 2}, 3, 0.5);
  Tensor y = sum(lstm(x, w_ih, w_hh, Tensor(), Tensor()).sequence);
  EXPECT_THROW_MSG(y.backward(Tensor(), false, true), "[lstm] the fused LSTM has no second derivative");
}

}  // namespace
}  // namespace forge
