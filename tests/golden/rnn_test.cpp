// PyTorch parity for ops/rnn and ops/attention (goldens from tools/golden/families/rnn.py):
// torch.nn.LSTM / GRU / LSTMCell / GRUCell with copied weights, a hand-written
// softmax(q k^T * scale + mask) v, and torch.nn.MultiheadAttention(batch_first=True).
#include "golden/golden.h"
#include "ops/attention.h"
#include "ops/rnn.h"

namespace forge {
namespace {

Tensors inputs_of(const golden::Case& c, size_t count) {
  Tensors in;
  for (size_t i = 0; i < count; ++i) in.push_back(c.input(i));
  return in;
}

TEST(GoldenRnn, Lstm) {
  for (const char* name : {"lstm", "lstm_zero_state"}) {
    const auto& c = golden::get("rnn", name);
    const bool initial = c.args()["initial"].get<bool>();
    Tensors in = inputs_of(c, initial ? 7 : 5);
    LSTMState init = initial ? LSTMState{in[5], in[6]} : LSTMState{};
    RNNOutput o = lstm(in[0], in[1], in[2], in[3], in[4], init);
    EXPECT_TRUE(c.check({o.sequence, o.h, o.c}, in)) << name;
  }
}

TEST(GoldenRnn, Gru) {
  {
    const auto& c = golden::get("rnn", "gru");
    Tensors in = inputs_of(c, 6);
    RNNOutput o = gru(in[0], in[1], in[2], in[3], in[4], in[5]);
    EXPECT_TRUE(c.check({o.sequence, o.h}, in));
  }
  {
    const auto& c = golden::get("rnn", "gru_no_bias_zero_state");
    Tensors in = inputs_of(c, 3);
    RNNOutput o = gru(in[0], in[1], in[2], Tensor(), Tensor());
    EXPECT_TRUE(c.check({o.sequence, o.h}, in));
  }
}

TEST(GoldenRnn, Cells) {
  {
    const auto& c = golden::get("rnn", "lstm_cell");
    Tensors in = inputs_of(c, 7);
    LSTMState s = lstm_cell(in[0], {in[5], in[6]}, in[1], in[2], in[3], in[4]);
    EXPECT_TRUE(c.check({s.h, s.c}, in));
  }
  {
    const auto& c = golden::get("rnn", "gru_cell");
    Tensors in = inputs_of(c, 6);
    EXPECT_TRUE(c.check(gru_cell(in[0], in[5], in[1], in[2], in[3], in[4]), in));
  }
}

TEST(GoldenRnn, ScaledDotProductAttention) {
  {
    const auto& c = golden::get("rnn", "sdpa");
    Tensors in = inputs_of(c, 3);
    EXPECT_TRUE(c.check(scaled_dot_product_attention(in[0], in[1], in[2]), in));
  }
  {
    const auto& c = golden::get("rnn", "sdpa_causal");
    Tensors in = inputs_of(c, 3);
    EXPECT_TRUE(c.check(scaled_dot_product_attention(in[0], in[1], in[2], Tensor(), true), in));
  }
  {
    const auto& c = golden::get("rnn", "sdpa_scale");
    Tensors in = inputs_of(c, 3);
    const double scale = c.args()["scale"].get<double>();
    EXPECT_TRUE(c.check(scaled_dot_product_attention(in[0], in[1], in[2], Tensor(), false, scale), in));
  }
  for (bool causal : {false, true}) {
    const auto& c = golden::get("rnn", causal ? "sdpa_mask_causal" : "sdpa_mask");
    Tensors in = inputs_of(c, 4);
    EXPECT_TRUE(c.check(scaled_dot_product_attention(in[0], in[1], in[2], in[3], causal), in)) << c.name();
  }
}

TEST(GoldenRnn, MultiHeadAttention) {
  for (const char* name : {"mha", "mha_causal", "mha_mask"}) {
    const auto& c = golden::get("rnn", name);
    Tensors in = inputs_of(c, 11);
    Tensor mask = c.has("in11") ? c.input(11, false) : Tensor();
    MultiHeadWeights w{in[3], in[4], in[5], in[6], in[7], in[8], in[9], in[10]};
    Tensor out = multi_head_attention(in[0], in[1], in[2], w, c.args()["heads"].get<int64_t>(), mask,
                                      c.args()["causal"].get<bool>());
    EXPECT_TRUE(c.check(out, in)) << name;
    // The k bias shifts all scores of a query equally, which softmax cancels: zero gradient.
    EXPECT_TRUE(test::all_close(in[6].grad(), zeros({in[6].numel()}), 0.0, 1e-6)) << name;
  }
}

}  // namespace
}  // namespace forge
