// PyTorch parity for LSTM, GRU and MultiHeadAttention (tools/golden/families/nn.py).
#include "golden/golden.h"
#include "nn/layers/attention.h"
#include "nn/layers/recurrent.h"

namespace forge::nn {
namespace {

void load_inputs(Module& layer, const golden::Case& c, const std::vector<std::string>& names) {
  NamedTensors state;
  for (size_t i = 0; i < names.size(); ++i) state.push_back({names[i], c.get("in" + std::to_string(i + 1))});
  layer.load_state(state);
}

TEST(GoldenNN, LSTM) {
  const auto& c = golden::get("nn", "lstm");
  LSTM lstm(5, {.return_sequences = true, .return_state = true});  // built from the state's shapes
  load_inputs(lstm, c, {"weight_ih", "weight_hh", "bias_ih", "bias_hh"});
  Tensor x = c.input(0);
  EXPECT_TRUE(c.check(lstm.call(x), golden::inputs_of(x, lstm)));
}

TEST(GoldenNN, GRU) {
  const auto& c = golden::get("nn", "gru");
  GRU gru(5, {.return_sequences = true, .return_state = true, .input_size = 3});
  load_inputs(gru, c, {"weight_ih", "weight_hh", "bias_ih", "bias_hh"});
  Tensor x = c.input(0);
  EXPECT_TRUE(c.check(gru.call(x), golden::inputs_of(x, gru)));
}

TEST(GoldenNN, MultiHeadAttention) {
  const std::vector<std::string> names = {"q_proj.weight", "q_proj.bias", "k_proj.weight",   "k_proj.bias",
                                          "v_proj.weight", "v_proj.bias", "out_proj.weight", "out_proj.bias"};
  for (const char* name : {"mha_self", "mha_causal"}) {
    const auto& c = golden::get("nn", name);
    MultiHeadAttention mha(2, 4, {.causal = std::string(name) == "mha_causal"});
    load_inputs(mha, c, names);
    Tensor x = c.input(0);
    EXPECT_TRUE(c.check(mha.forward(x), golden::inputs_of(x, mha))) << name;
    // k_proj.bias cannot change the output (softmax shift invariance): its gradient is ~0.
    EXPECT_LT(max(abs(mha.named_parameters()[3].tensor.grad())).item(), 1e-5) << name;
  }
}

}  // namespace
}  // namespace forge::nn
