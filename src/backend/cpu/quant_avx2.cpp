// AVX2 quantized dot products (the library is built with -march=native minus AVX-512, so
// AVX2/FMA/F16C need no attribute here; the run-time check in quant_isa_supported guards use).
#include <immintrin.h>

#include "backend/cpu/quant.h"

namespace forge::cpu {
namespace avx2 {
#define FORGE_QTARGET __attribute__((target("avx2,fma,f16c")))
#define FORGE_QVNNI 0
#include "backend/cpu/quant_simd.h"
#undef FORGE_QTARGET
#undef FORGE_QVNNI
}  // namespace avx2

QuantDotFn quant_dot_avx2(DType wtype) { return avx2::select_dot(wtype); }

}  // namespace forge::cpu
