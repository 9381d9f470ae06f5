#include "ops/precision.h"

#include "core/error.h"

namespace forge {

namespace {
thread_local Precision t_precision = Precision::kF32;
}

Precision math_precision() { return t_precision; }
void set_math_precision(Precision precision) { t_precision = precision; }

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kF32;
  if (name == "bf16") return Precision::kBF16;
  fail("[precision] must be 'fp32' or 'bf16', got '{}'", name);
}

bool bf16_native() {
  static const bool native = __builtin_cpu_supports("avx512bf16");
  return native;
}

}  // namespace forge
