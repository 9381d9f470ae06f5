// AVX-512 VNNI quantized dot products. GCC 12 must not compile the library with -mavx512f
// (see CMakeLists.txt), so these functions carry their own target attribute and are reached
// only through run-time dispatch (quant_isa_supported checks cpuid).
#include <immintrin.h>

#include <cstring>

#include "backend/cpu/quant.h"

namespace forge::cpu {
namespace avx512 {
#define FORGE_QTARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define FORGE_QVNNI 1
// GCC 12 reports false -W(maybe-)uninitialized inside avx512fintrin.h (its _mm512_undefined_*
// pass-through operands) when these intrinsics are inlined into target-attribute functions.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include "backend/cpu/quant_simd.h"
#pragma GCC diagnostic pop
#undef FORGE_QTARGET
#undef FORGE_QVNNI
#undef FORGE_DOT_Q4
}  // namespace avx512

QuantDotFn quant_dot_avx512(DType wtype) { return avx512::select_dot(wtype); }

}  // namespace forge::cpu
