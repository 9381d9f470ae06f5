#include "ops/precision.h"

#include <oneapi/dnnl/dnnl.hpp>

#include "core/error.h"

namespace forge {

namespace {
thread_local Precision t_precision = Precision::kF32;
}

Precision math_precision() { return t_precision; }
void set_math_precision(Precision precision) {
  if (precision == Precision::kBF16) require_bf16("bf16 precision");
  t_precision = precision;
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kF32;
  if (name == "bf16") return Precision::kBF16;
  fail("[precision] must be 'fp32' or 'bf16', got '{}'", name);
}

bool bf16_native() {
  static const bool native = __builtin_cpu_supports("avx512bf16");
  return native;
}

bool bf16_supported() {
  // The ISA oneDNN will use (it honours ONEDNN_MAX_CPU_ISA); cpu_isa values are feature bit sets.
  static const bool supported = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto core = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
    return (isa & core) == core;
  }();
  return supported;
}

void require_bf16(const std::string& what) {
  FORGE_CHECK(bf16_supported(),
              "[precision] {} needs a CPU with AVX-512 (oneDNN's bf16 kernels need avx512_core); this CPU "
              "has none: use precision = \"fp32\"",
              what);
}

}  // namespace forge
