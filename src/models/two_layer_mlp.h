#pragma once
// The seed documents' first network: in -> hidden ReLU -> classes (784 -> 128 -> 10 for
// Fashion-MNIST), trained with softmax cross-entropy and SGD. Written with plain ops until the
// nn layer (Module, Linear, losses) lands; `forge demo` and examples/two_layer_mlp.cpp use it.
#include <cstdint>

#include "core/random.h"
#include "core/tensor.h"

namespace forge::models {

struct TwoLayerMlp {
  Tensor w1, b1;  // [hidden, in], [hidden]       (PyTorch Linear layout)
  Tensor w2, b2;  // [classes, hidden], [classes]

  // PyTorch's nn.Linear default initialisation: weights and biases ~ U(-1/sqrt(fan_in), +).
  // All four are leaves that require grad.
  static TwoLayerMlp init(int64_t in, int64_t hidden, int64_t classes, Generator& gen);
  // A deep copy (same values, fresh leaves).
  TwoLayerMlp clone() const;
  Tensors parameters() const { return {w1, b1, w2, b2}; }
  // x: [B, in] -> logits [B, classes].
  Tensor forward(const Tensor& x) const;
};

// Its training loss is the library's sparse_categorical_cross_entropy_with_logits (nn/loss.h).

// Loss and gradients of TwoLayerMlp computed by hand, as the seed's pseudo-code does: forward,
// softmax, then backward with explicit matmuls; nothing is recorded on the tape.
struct MlpGradients {
  double loss = 0;
  Tensor w1, b1, w2, b2;
  Tensors list() const { return {w1, b1, w2, b2}; }
};
MlpGradients manual_gradients(const TwoLayerMlp& model, const Tensor& x, const Tensor& labels);

// Plain SGD: param -= lr * grad for each parameter, in place and off the tape.
void sgd_update(const TwoLayerMlp& model, const Tensors& grads, double lr);

}  // namespace forge::models
