// AVX-512 VNNI quantized dot products. GCC 12 must not compile the library with -mavx512f
// (see CMakeLists.txt), so these functions carry their own target attribute and are reached
// only through run-time dispatch (quant_isa_supported checks cpuid).
#include <immintrin.h>

#include "backend/cpu/quant.h"

namespace forge::cpu {
namespace avx512 {
#define FORGE_QTARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#define FORGE_QVNNI 1
#include "backend/cpu/quant_simd.h"
#undef FORGE_QTARGET
#undef FORGE_QVNNI
}  // namespace avx512

QuantDotFn quant_dot_avx512(DType wtype) { return avx512::select_dot(wtype); }

}  // namespace forge::cpu
