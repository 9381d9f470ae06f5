#pragma once
// Fused whole-sequence LSTM kernels (batch-first, PyTorch gate order i, f, g, o). One GEMM
// projects every timestep's input; each step then adds h_{t-1} @ w_hh^T into its gate rows and
// applies the gate nonlinearities in one pass. All buffers are preallocated by the caller.
#include <cstdint>

namespace forge::cpu {

struct LstmDims {
  int64_t batch, time, input, hidden;
};

// Forward. x [B,T,I], w_ih [4H,I], w_hh [4H,H], bias [4H] (b_ih + b_hh, may be null),
// h0 / c0 [B,H] (null = zeros). Writes gates [B,T,4H] (activated i, f, g, o: saved for the
// backward), cells [B,T,H] (c_t) and hs [B,T,H] (h_t).
void lstm_forward(const LstmDims& d, const float* x, const float* w_ih, const float* w_hh, const float* bias,
                  const float* h0, const float* c0, float* gates, float* cells, float* hs);

// Backward of lstm_forward. d_hs [B,T,H] (gradient of every h_t), d_h_last / d_c_last [B,H]
// (may be null). Uses gates/cells/hs from the forward. Writes d_x [B,T,I], d_w_ih [4H,I],
// d_w_hh [4H,H], d_bias [4H], d_h0 / d_c0 [B,H] (each output may be null = not needed).
// `scratch` holds 4*B*T*H + B*T*H + 2*B*H floats.
void lstm_backward(const LstmDims& d, const float* x, const float* w_ih, const float* w_hh, const float* h0,
                   const float* c0, const float* gates, const float* cells, const float* hs, const float* d_hs,
                   const float* d_h_last, const float* d_c_last, float* d_x, float* d_w_ih, float* d_w_hh,
                   float* d_bias, float* d_h0, float* d_c0, float* scratch);

}  // namespace forge::cpu
