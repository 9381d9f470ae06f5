#pragma once
// Keras recurrent layers on PyTorch's single-layer weights (batch first: x [N, T, in]).
// LSTM gates i, f, g, o; GRU gates r, z, n with the reset gate applied after the recurrent
// matmul (PyTorch; Keras reset_after=True). Parameters: weight_ih [G*units, in], weight_hh
// [G*units, units], bias_ih, bias_hh [G*units] (G = 4 for LSTM, 3 for GRU).
// Init (PyTorch): every tensor U(-1/sqrt(units), 1/sqrt(units)).
#include <string>

#include "nn/module.h"
#include "ops/rnn.h"

namespace forge::nn {

struct RecurrentOptions {
  bool return_sequences = false;  // forward returns [N, T, units] instead of the last h [N, units]
  bool return_state = false;      // call() also returns the final states
  bool use_bias = true;
  int64_t input_size = 0;  // 0: inferred from the input's last axis on the first forward
};

// Shared by LSTM and GRU.
class Recurrent : public Module {
 public:
  Tensor forward(const Tensor& input) override;
  Shape output_shape(const Shape& input) const override;
  void build(const Shape& input_shape) override;
  bool built() const { return weight_ih_.defined(); }
  int64_t units() const { return units_; }
  // Runs the full recurrence: sequence [N, T, units], final h [N, units] (and c for LSTM).
  virtual RNNOutput run(const Tensor& input, const LSTMState& initial) = 0;
  // Keras call: {output} plus the final states {h} (GRU) or {h, c} (LSTM) when return_state.
  Tensors call(const Tensor& input, const LSTMState& initial = {});

 protected:
  Recurrent(int64_t units, int64_t gates, RecurrentOptions options);
  void build_from_state(const std::map<std::string, Tensor>& own) override;
  void check_input(const Tensor& input);
  bool is_lstm() const { return gates_ == 4; }
  int64_t units_, gates_;
  RecurrentOptions options_;
  Tensor weight_ih_, weight_hh_, bias_ih_, bias_hh_;

 private:
  void create(int64_t input_size);
};

class LSTM : public Recurrent {
 public:
  explicit LSTM(int64_t units, RecurrentOptions options = {}) : Recurrent(units, 4, options) {}
  std::string name() const override { return "LSTM"; }
  RNNOutput run(const Tensor& input, const LSTMState& initial) override;
};

class GRU : public Recurrent {
 public:
  explicit GRU(int64_t units, RecurrentOptions options = {}) : Recurrent(units, 3, options) {}
  std::string name() const override { return "GRU"; }
  // initial.c is ignored.
  RNNOutput run(const Tensor& input, const LSTMState& initial) override;
};

}  // namespace forge::nn
