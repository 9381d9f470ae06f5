#pragma once
// Gradient clipping, in place on the parameters' gradients (parameters without a gradient
// are ignored), with torch.nn.utils semantics.
#include <limits>

#include "core/tensor.h"

namespace forge {

// Scales all gradients by max_norm / (total_norm + 1e-6) when that is below 1, where
// total_norm is the norm_type-norm of all gradients together (norm_type may be infinity).
// Returns total_norm before clipping.
double clip_grad_norm(const NamedTensors& params, double max_norm, double norm_type = 2.0);
// Clamps every gradient element to [-clip, clip].
void clip_grad_value(const NamedTensors& params, double clip);

}  // namespace forge
