#pragma once
// The arithmetic precision of matmuls and convolutions (thread-local, like grad mode).
//
// kF32 (the default): everything in float32.
// kBF16: matmul and convolution operands (inputs, weights, output gradients) are rounded to
//   bfloat16 and multiplied by oneDNN's AVX512-BF16 kernels; products are accumulated and
//   written in float32, so tensors, parameters ("master weights"), gradients and optimizer
//   state stay float32. Expect relative errors around 1e-2 (bf16 keeps 8 significant bits).
// train::Model::fit uses kBF16 when compiled with precision "bf16" (TOML `precision = "bf16"`).
#include <string>

namespace forge {

enum class Precision { kF32, kBF16 };

Precision math_precision();
void set_math_precision(Precision precision);
// "fp32" | "bf16" -> Precision; throws "[precision] must be 'fp32' or 'bf16', got 'x'".
Precision parse_precision(const std::string& name);
// True when the CPU has native bf16 dot products (avx512_bf16); without them oneDNN emulates bf16
// (correct but slower than f32).
bool bf16_native();
// True when oneDNN has bf16 kernels for this CPU: they need AVX-512 (avx512_core; native dot
// products with avx512_bf16). On an AVX2-only CPU there are none.
bool bf16_supported();
// Throws "[precision] bf16 needs a CPU with AVX-512 ..." naming `what` when !bf16_supported().
// set_math_precision(kBF16) calls it, so every bf16 path fails before it starts, not mid-run.
void require_bf16(const std::string& what);

// Sets the precision for its scope and restores the previous one.
class PrecisionGuard {
 public:
  explicit PrecisionGuard(Precision precision) : previous_(math_precision()) { set_math_precision(precision); }
  ~PrecisionGuard() { set_math_precision(previous_); }
  PrecisionGuard(const PrecisionGuard&) = delete;
  PrecisionGuard& operator=(const PrecisionGuard&) = delete;

 private:
  Precision previous_;
};

}  // namespace forge
