#pragma once
// Loss functions (Keras names, PyTorch shapes). All are numerically stable, differentiable
// with respect to their first argument, and never produce gradients for targets.
//
// Reduction: kMean averages over all loss elements (for the sparse cross entropies with
// class weights: the weighted mean sum(w_i * l_i) / sum(w_i), like PyTorch), kSum adds them,
// kNone returns the unreduced losses (elementwise for regression/binary losses, one per row
// [N] for the categorical ones).
#include <string>

#include "core/tensor.h"

namespace forge {

enum class Reduction { kMean, kSum, kNone };
// "mean" | "sum" | "none" (for configs); throws on anything else.
Reduction parse_reduction(const std::string& name);

// (pred - target)^2. pred and target have equal shapes.
Tensor mse_loss(const Tensor& pred, const Tensor& target, Reduction r = Reduction::kMean);
// |pred - target|.
Tensor mae_loss(const Tensor& pred, const Tensor& target, Reduction r = Reduction::kMean);
// 0.5 d^2 where |d| <= delta, delta * (|d| - 0.5 delta) elsewhere; d = pred - target.
Tensor huber_loss(const Tensor& pred, const Tensor& target, double delta = 1.0, Reduction r = Reduction::kMean);

// -(t log p + (1 - t) log(1 - p)) on probabilities; each log is clamped to >= -100 (like
// PyTorch) so p = 0 or 1 gives a finite loss. weight (optional) broadcasts to probs and
// multiplies each element before the reduction.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, Reduction r = Reduction::kMean,
                            const Tensor& weight = Tensor());
// The same on logits, computed as max(x,0) - x t + log1p(exp(-|x|)) (stable for any x).
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction r = Reduction::kMean,
                                        const Tensor& weight = Tensor());

// probs/logits [N, C]; target one-hot or soft labels [N, C]; unreduced loss is [N].
// Keras semantics on probabilities: rows are renormalized to sum to 1, then clipped to
// [1e-7, 1 - 1e-7], then loss = -sum_c t log p.
Tensor categorical_cross_entropy(const Tensor& probs, const Tensor& target, Reduction r = Reduction::kMean);
// loss = -sum_c t * log_softmax(logits).
Tensor categorical_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                             Reduction r = Reduction::kMean);

// target: int64 or int32 class ids [N] in [0, C); class_weight: optional [C] (weighted mean
// for kMean, like PyTorch's `weight`). The probability version follows
// categorical_cross_entropy with one-hot targets.
Tensor sparse_categorical_cross_entropy(const Tensor& probs, const Tensor& target, Reduction r = Reduction::kMean,
                                        const Tensor& class_weight = Tensor());
// Fused log-softmax + pick forward and (softmax - one_hot) backward: the classifier hot path.
Tensor sparse_categorical_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                                    Reduction r = Reduction::kMean,
                                                    const Tensor& class_weight = Tensor());

}  // namespace forge
