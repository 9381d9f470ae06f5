#pragma once
// Recurrent cells and layers (LSTM, GRU) with PyTorch's weight layouts and gate orders, so
// torch.nn.LSTM / GRU / LSTMCell / GRUCell weights load unchanged. Batch-first throughout.
// All ops are differentiable (backward composes public ops).
#include "core/tensor.h"

namespace forge {

// Hidden and cell state of an LSTM, each [batch, hidden].
struct LSTMState {
  Tensor h;
  Tensor c;
};

// One LSTM step (torch.nn.LSTMCell). x [batch, input]; w_ih [4H, input], w_hh [4H, H];
// b_ih / b_hh [4H] are optional (undefined = no bias). Gate order i, f, g, o:
//   i,f,o = sigmoid(.), g = tanh(.), c' = f*c + i*g, h' = o*tanh(c').
// An undefined state.h / state.c means zeros.
LSTMState lstm_cell(const Tensor& x, const LSTMState& state, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh);

// One GRU step, exactly torch.nn.GRUCell. x [batch, input], h [batch, H] (undefined = zeros);
// w_ih [3H, input], w_hh [3H, H], biases [3H] optional. Gate order r, z, n:
//   r = sigmoid(Wir x + bir + Whr h + bhr), z likewise, n = tanh(Win x + bin + r*(Whn h + bhn)),
//   h' = (1-z)*n + z*h.
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh);

// Result of a recurrent layer: every step's hidden state and the final states.
struct RNNOutput {
  Tensor sequence;  // [batch, time, H]
  Tensor h;         // last hidden state [batch, H]
  Tensor c;         // last cell state [batch, H]; undefined for GRU
};

// Single-layer unidirectional LSTM over x [batch, time, input] (torch.nn.LSTM, batch_first,
// weights weight_ih_l0 etc.). The initial state is zeros where undefined. float32 runs one
// fused kernel for the whole sequence (one GEMM for the input projection of all timesteps, the
// recurrent GEMM per step, fused gate nonlinearities) recorded as one tape node with a fused
// backward; that backward is first-order only (create_graph throws: use lstm_composed). Other
// dtypes take lstm_composed.
RNNOutput lstm(const Tensor& x, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
               const LSTMState& initial = {});

// The same LSTM composed of public ops step by step (any order of derivative; the reference
// the fused kernel is tested against).
RNNOutput lstm_composed(const Tensor& x, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                        const Tensor& b_hh, const LSTMState& initial = {});

// Single-layer unidirectional GRU over x [batch, time, input] (torch.nn.GRU, batch_first).
// h0 [batch, H] defaults to zeros. The returned c is undefined.
RNNOutput gru(const Tensor& x, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
              const Tensor& h0 = Tensor());

}  // namespace forge
