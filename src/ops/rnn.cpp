#include "ops/rnn.h"

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "backend/cpu/rnn.h"
#include "ops/elementwise.h"
#include "ops/linalg.h"
#include "ops/view.h"

namespace forge {

namespace {

// Checks the weights of a recurrent op with `gates` gates (LSTM 4, GRU 3) and returns the
// hidden size, which w_hh [gates*H, H] defines.
int64_t check_weights(const char* op, int64_t gates, int64_t input, const Tensor& w_ih, const Tensor& w_hh,
                      const Tensor& b_ih, const Tensor& b_hh) {
  FORGE_CHECK(w_ih.defined() && w_hh.defined(), "[{}] w_ih and w_hh must be defined", op);
  FORGE_CHECK(w_hh.dim() == 2 && w_hh.shape()[1] > 0 && w_hh.shape()[0] == gates * w_hh.shape()[1],
              "[{}] w_hh must be [{}*hidden, hidden] with hidden > 0, got {}", op, gates, shape_str(w_hh));
  const int64_t hidden = w_hh.shape()[1];
  const Shape want_ih{gates * hidden, input};
  FORGE_CHECK(w_ih.shape() == want_ih, "[{}] w_ih must be [{}*hidden, input] = {}, got {}", op, gates,
              shape_str(want_ih), shape_str(w_ih));
  const Shape want_b{gates * hidden};
  FORGE_CHECK(!b_ih.defined() || b_ih.shape() == want_b, "[{}] b_ih must be [{}*hidden] = {}, got {}", op, gates,
              shape_str(want_b), shape_str(b_ih));
  FORGE_CHECK(!b_hh.defined() || b_hh.shape() == want_b, "[{}] b_hh must be [{}*hidden] = {}, got {}", op, gates,
              shape_str(want_b), shape_str(b_hh));
  return hidden;
}

void check_state(const char* op, const char* name, const Tensor& state, int64_t batch, int64_t hidden) {
  if (!state.defined()) return;
  const Shape want{batch, hidden};
  FORGE_CHECK(state.shape() == want, "[{}] {} must be [batch, hidden] = {}, got {}", op, name, shape_str(want),
              shape_str(state));
}

// Validates x as [batch, input] (cells, rank 2) or [batch, time, input] (layers, rank 3).
void check_input(const char* op, const Tensor& x, int64_t rank) {
  FORGE_CHECK(x.defined(), "[{}] input is undefined", op);
  if (rank == 2) {
    FORGE_CHECK(x.dim() == 2, "[{}] input must be 2-d [batch, input], got {}", op, shape_str(x));
  } else {
    FORGE_CHECK(x.dim() == 3, "[{}] input must be 3-d [batch, time, input] (batch first), got {}", op,
                shape_str(x));
    FORGE_CHECK(x.shape()[1] > 0, "[{}] input must have at least one timestep, got {}", op, shape_str(x));
  }
}

// a + b where either may be undefined (an absent bias or a zero initial state).
Tensor add_defined(const Tensor& a, const Tensor& b) {
  if (!a.defined()) return b;
  if (!b.defined()) return a;
  return add(a, b);
}

// Gate k of a [..., gates*H] tensor (undefined stays undefined).
Tensor gate(const Tensor& t, int64_t k, int64_t hidden) {
  return t.defined() ? slice(t, -1, k * hidden, (k + 1) * hidden) : Tensor();
}

// One LSTM step from the input part of the gates (x @ w_ih^T + biases, [B, 4H]).
LSTMState lstm_step(const Tensor& x_gates, const Tensor& h, const Tensor& c, const Tensor& w_hh, int64_t hidden) {
  // gates: [B, 4H] in the order i, f, g, o
  Tensor gates = h.defined() ? add(x_gates, linear(h, w_hh)) : x_gates;
  Tensor i = sigmoid(gate(gates, 0, hidden));
  Tensor f = sigmoid(gate(gates, 1, hidden));
  Tensor g = tanh(gate(gates, 2, hidden));
  Tensor o = sigmoid(gate(gates, 3, hidden));
  Tensor c_new = c.defined() ? add(mul(f, c), mul(i, g)) : mul(i, g);
  return {mul(o, tanh(c_new)), c_new};
}

// One GRU step from the input part of the gates (x @ w_ih^T + b_ih, [B, 3H]).
Tensor gru_step(const Tensor& x_gates, const Tensor& h, const Tensor& w_hh, const Tensor& b_hh, int64_t hidden) {
  // h_gates: [B, 3H] (or just b_hh, or nothing, when h is zero), order r, z, n
  Tensor h_gates = h.defined() ? linear(h, w_hh, b_hh) : b_hh;
  Tensor r = sigmoid(add_defined(gate(x_gates, 0, hidden), gate(h_gates, 0, hidden)));
  Tensor z = sigmoid(add_defined(gate(x_gates, 1, hidden), gate(h_gates, 1, hidden)));
  Tensor hn = gate(h_gates, 2, hidden);
  Tensor n = tanh(hn.defined() ? add(gate(x_gates, 2, hidden), mul(r, hn)) : gate(x_gates, 2, hidden));
  // h' = (1 - z) * n + z * h = n + z * (h - n)
  return h.defined() ? add(n, mul(z, sub(h, n))) : mul(rsub(1.0, z), n);
}

// Stacks T tensors [B, H] into [B, T, H]; the gradient of step t is the slice g[:, t].
Tensor stack_steps(const Tensors& steps) {
  const Shape& step_shape = steps.front().shape();
  const int64_t time = static_cast<int64_t>(steps.size());
  Tensor out = empty({step_shape[0], time, step_shape[1]});
  for (int64_t t = 0; t < time; ++t) copy_(out.select(1, t), steps[static_cast<size_t>(t)]);
  if (needs_grad(steps)) {
    record("rnn_stack_steps", steps, out, [time](const Tensors& g) {
      Tensors grads;
      grads.reserve(static_cast<size_t>(time));
      for (int64_t t = 0; t < time; ++t) grads.push_back(select(g[0], 1, t));
      return grads;
    });
  }
  return out;
}

}  // namespace

LSTMState lstm_cell(const Tensor& x, const LSTMState& state, const Tensor& w_ih, const Tensor& w_hh,
                    const Tensor& b_ih, const Tensor& b_hh) {
  check_input("lstm_cell", x, 2);
  const int64_t hidden = check_weights("lstm_cell", 4, x.shape()[1], w_ih, w_hh, b_ih, b_hh);
  check_state("lstm_cell", "state.h", state.h, x.shape()[0], hidden);
  check_state("lstm_cell", "state.c", state.c, x.shape()[0], hidden);
  Tensor x_gates = linear(x, w_ih, add_defined(b_ih, b_hh));
  return lstm_step(x_gates, state.h, state.c, w_hh, hidden);
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  check_input("gru_cell", x, 2);
  const int64_t hidden = check_weights("gru_cell", 3, x.shape()[1], w_ih, w_hh, b_ih, b_hh);
  check_state("gru_cell", "h", h, x.shape()[0], hidden);
  return gru_step(linear(x, w_ih, b_ih), h, w_hh, b_hh, hidden);
}

RNNOutput lstm_composed(const Tensor& x, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                        const Tensor& b_hh, const LSTMState& initial) {
  check_input("lstm", x, 3);
  const int64_t batch = x.shape()[0];
  const int64_t time = x.shape()[1];
  const int64_t hidden = check_weights("lstm", 4, x.shape()[2], w_ih, w_hh, b_ih, b_hh);
  check_state("lstm", "initial h", initial.h, batch, hidden);
  check_state("lstm", "initial c", initial.c, batch, hidden);
  // x: [B, T, I] -> x_gates: [B, T, 4H], one GEMM for every timestep (both biases folded in).
  Tensor x_gates = linear(x, w_ih, add_defined(b_ih, b_hh));
  LSTMState state = initial;
  Tensors hs;
  hs.reserve(static_cast<size_t>(time));
  for (int64_t t = 0; t < time; ++t) {
    state = lstm_step(select(x_gates, 1, t), state.h, state.c, w_hh, hidden);
    hs.push_back(state.h);
  }
  return {stack_steps(hs), state.h, state.c};
}

RNNOutput lstm(const Tensor& x, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
               const LSTMState& initial) {
  check_input("lstm", x, 3);
  const Tensors all{x, w_ih, w_hh, b_ih, b_hh, initial.h, initial.c};
  bool f32 = true;
  for (const Tensor& t : all) f32 = f32 && (!t.defined() || t.dtype() == DType::kF32);
  if (!f32) return lstm_composed(x, w_ih, w_hh, b_ih, b_hh, initial);
  const int64_t batch = x.shape()[0];
  const int64_t time = x.shape()[1];
  const int64_t input = x.shape()[2];
  const int64_t hidden = check_weights("lstm", 4, input, w_ih, w_hh, b_ih, b_hh);
  check_state("lstm", "initial h", initial.h, batch, hidden);
  check_state("lstm", "initial c", initial.c, batch, hidden);
  // Fused path: one kernel for the whole sequence (cpu/rnn.h), one tape node for all outputs.
  const Tensor xc = x.contiguous(), wi = w_ih.contiguous(), wh = w_hh.contiguous();
  const Tensor h0 = initial.h.defined() ? initial.h.contiguous() : Tensor();
  const Tensor c0 = initial.c.defined() ? initial.c.contiguous() : Tensor();
  Tensor bias;
  {
    NoGradGuard no_grad;
    const Tensor b = add_defined(b_ih, b_hh);
    if (b.defined()) bias = b.contiguous();
  }
  auto ptr = [](const Tensor& t) { return t.defined() ? t.data<float>() : nullptr; };
  const cpu::LstmDims dims{batch, time, input, hidden};
  Tensor gates = empty({batch, time, 4 * hidden});
  Tensor cells = empty({batch, time, hidden});
  Tensor seq = empty({batch, time, hidden});
  cpu::lstm_forward(dims, xc.data<float>(), wi.data<float>(), wh.data<float>(), ptr(bias), ptr(h0), ptr(c0),
                    gates.data<float>(), cells.data<float>(), seq.data<float>());
  Tensor h_last = seq.select(1, time - 1).contiguous();
  Tensor c_last = cells.select(1, time - 1).contiguous();
  if (needs_grad(all)) {
    const bool want_bias_ih = b_ih.defined(), want_bias_hh = b_hh.defined();
    const Tensor seq_saved = seq.detach();
    record("lstm", all, Tensors{seq, h_last, c_last},
           [=](const Tensors& g) {
             FORGE_CHECK(!grad_enabled(),
                         "[lstm] the fused LSTM has no second derivative (create_graph); use lstm_composed()");
             const Tensor d_seq = g[0].contiguous(), d_h = g[1].contiguous(), d_c = g[2].contiguous();
             Tensor d_x = empty(xc.shape()), d_wi = empty(wi.shape()), d_wh = empty(wh.shape());
             Tensor d_b = empty({4 * hidden});
             Tensor d_h0 = h0.defined() ? empty(h0.shape()) : Tensor();
             Tensor d_c0 = c0.defined() ? empty(c0.shape()) : Tensor();
             Tensor scratch = empty({5 * batch * time * hidden + 2 * batch * hidden});
             cpu::lstm_backward(dims, xc.data<float>(), wi.data<float>(), wh.data<float>(), ptr(h0), ptr(c0),
                                gates.data<float>(), cells.data<float>(), seq_saved.data<float>(),
                                d_seq.data<float>(), d_h.data<float>(), d_c.data<float>(), d_x.data<float>(),
                                d_wi.data<float>(), d_wh.data<float>(), d_b.data<float>(), ptr(d_h0), ptr(d_c0),
                                scratch.data<float>());
             return Tensors{d_x,
                            d_wi,
                            d_wh,
                            want_bias_ih ? d_b : Tensor(),
                            want_bias_hh ? d_b.clone() : Tensor(),
                            d_h0,
                            d_c0};
           });
  }
  return {seq, h_last, c_last};
}

RNNOutput gru(const Tensor& x, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
              const Tensor& h0) {
  check_input("gru", x, 3);
  const int64_t batch = x.shape()[0];
  const int64_t time = x.shape()[1];
  const int64_t hidden = check_weights("gru", 3, x.shape()[2], w_ih, w_hh, b_ih, b_hh);
  check_state("gru", "h0", h0, batch, hidden);
  // x: [B, T, I] -> x_gates: [B, T, 3H]; b_hh stays inside the loop because r multiplies it.
  Tensor x_gates = linear(x, w_ih, b_ih);
  Tensor h = h0;
  Tensors hs;
  hs.reserve(static_cast<size_t>(time));
  for (int64_t t = 0; t < time; ++t) {
    h = gru_step(select(x_gates, 1, t), h, w_hh, b_hh, hidden);
    hs.push_back(h);
  }
  return {stack_steps(hs), h, Tensor()};
}

}  // namespace forge
