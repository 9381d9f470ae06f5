// Quantized matmul driver, activation quantization and the scalar reference kernels.
#include <cmath>
#include <cstring>
#include <vector>

#include "backend/cpu/half.h"
#include "backend/cpu/quant.h"
#include "core/error.h"
#include "core/parallel.h"

namespace forge::cpu {

namespace {

inline float h2f(uint16_t h) { return f16_to_float(h); }

inline int nearest_int(float fval) {
  float val = fval + 12582912.f;
  int i;
  std::memcpy(&i, &val, sizeof(int));
  return (i & 0x007fffff) - 0x00400000;
}

inline void scale_min_k4(int j, const uint8_t* q, int* d, int* m) {
  if (j < 4) {
    *d = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
  }
}

// ---- scalar reference dot products (integer sums per block, as the SIMD paths compute)

float dot_q8_0(int64_t K, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ8_0*>(wv);
  const auto* a = static_cast<const BlockQ8A*>(av);
  float sum = 0.0f;
  for (int64_t b = 0; b < K / 32; ++b) {
    int32_t s = 0;
    for (int j = 0; j < 32; ++j) s += w[b].qs[j] * a[b].qs[j];
    sum += h2f(w[b].d) * a[b].d * static_cast<float>(s);
  }
  return sum;
}

float dot_q4_0(int64_t K, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ4_0*>(wv);
  const auto* a = static_cast<const BlockQ8A*>(av);
  float sum = 0.0f;
  for (int64_t b = 0; b < K / 32; ++b) {
    int32_t s = 0;
    for (int j = 0; j < 16; ++j) {
      s += ((w[b].qs[j] & 0xF) - 8) * a[b].qs[j];
      s += ((w[b].qs[j] >> 4) - 8) * a[b].qs[j + 16];
    }
    sum += h2f(w[b].d) * a[b].d * static_cast<float>(s);
  }
  return sum;
}

float dot_q4_1(int64_t K, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ4_1*>(wv);
  const auto* a = static_cast<const BlockQ8A*>(av);
  float sum = 0.0f;
  for (int64_t b = 0; b < K / 32; ++b) {
    int32_t s = 0;
    for (int j = 0; j < 16; ++j) {
      s += (w[b].qs[j] & 0xF) * a[b].qs[j];
      s += (w[b].qs[j] >> 4) * a[b].qs[j + 16];
    }
    sum += h2f(w[b].d) * a[b].d * static_cast<float>(s) + h2f(w[b].m) * a[b].s;
  }
  return sum;
}

float dot_q4_k(int64_t K, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ4_K*>(wv);
  const auto* a = static_cast<const BlockQ8K*>(av);
  float sum = 0.0f;
  for (int64_t b = 0; b < K / 256; ++b) {
    int32_t sumi = 0, summ = 0;
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      scale_min_k4(j, w[b].scales, &sc, &m);
      const uint8_t* q = w[b].qs + (j / 2) * 32;
      const int8_t* y = a[b].qs + j * 32;
      int32_t s = 0;
      for (int l = 0; l < 32; ++l) s += ((j & 1) ? (q[l] >> 4) : (q[l] & 0xF)) * y[l];
      sumi += sc * s;
      summ += m * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
    }
    sum += a[b].d * (h2f(w[b].d) * static_cast<float>(sumi) - h2f(w[b].dmin) * static_cast<float>(summ));
  }
  return sum;
}

float dot_q6_k(int64_t K, const void* wv, const void* av) {
  const auto* w = static_cast<const BlockQ6_K*>(wv);
  const auto* a = static_cast<const BlockQ8K*>(av);
  float sum = 0.0f;
  for (int64_t b = 0; b < K / 256; ++b) {
    int32_t sumi = 0;
    for (int n = 0; n < 2; ++n) {
      const uint8_t* ql = w[b].ql + 64 * n;
      const uint8_t* qh = w[b].qh + 32 * n;
      const int8_t* sc = w[b].scales + 8 * n;
      const int8_t* y = a[b].qs + 128 * n;
      int32_t s[8] = {};
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        s[is + 0] += (((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32) * y[l];
        s[is + 2] += (((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32) * y[l + 32];
        s[is + 4] += (((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32) * y[l + 64];
        s[is + 6] += (((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32) * y[l + 96];
      }
      for (int k = 0; k < 8; ++k) sumi += sc[k] * s[k];
    }
    sum += a[b].d * h2f(w[b].d) * static_cast<float>(sumi);
  }
  return sum;
}

bool uses_q8k(DType wtype) { return wtype == DType::kQ4_K || wtype == DType::kQ6_K; }

}  // namespace

void quantize_act_q8a(const float* x, BlockQ8A* out, int64_t K) {
  for (int64_t b = 0; b < K / 32; ++b) {
    const float* xb = x + b * 32;
    float amax = 0.0f;
#pragma omp simd reduction(max : amax)  // max is exact in any order; std::max blocks vectorization
    for (int j = 0; j < 32; ++j) amax = std::fabs(xb[j]) > amax ? std::fabs(xb[j]) : amax;
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int32_t sum = 0;
    for (int j = 0; j < 32; ++j) {
      const int v = nearest_int(xb[j] * id);
      out[b].qs[j] = static_cast<int8_t>(v);
      sum += v;
    }
    out[b].d = d;
    out[b].s = d * static_cast<float>(sum);
  }
}

void quantize_act_q8k(const float* x, BlockQ8K* out, int64_t K) {
  for (int64_t b = 0; b < K / 256; ++b) {
    const float* xb = x + b * 256;
    float max = 0, amax = 0;
    for (int j = 0; j < 256; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax == 0.0f) {
      std::memset(&out[b], 0, sizeof(BlockQ8K));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < 256; ++j) out[b].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * xb[j])));
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += out[b].qs[j * 16 + i];
      out[b].bsums[j] = static_cast<int16_t>(sum);
    }
    out[b].d = 1 / iscale;
  }
}

QuantDotFn quant_dot_scalar(DType wtype) {
  switch (wtype) {
    case DType::kQ8_0: return dot_q8_0;
    case DType::kQ4_0: return dot_q4_0;
    case DType::kQ4_1: return dot_q4_1;
    case DType::kQ4_K: return dot_q4_k;
    case DType::kQ6_K: return dot_q6_k;
    default: return nullptr;
  }
}

const char* quant_isa_name(QuantIsa isa) {
  switch (isa) {
    case QuantIsa::kScalar: return "scalar";
    case QuantIsa::kAvx2: return "avx2";
    case QuantIsa::kAvx512Vnni: return "avx512vnni";
  }
  return "?";
}

bool quant_isa_supported(QuantIsa isa) {
  switch (isa) {
    case QuantIsa::kScalar: return true;
    case QuantIsa::kAvx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case QuantIsa::kAvx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

QuantIsa best_quant_isa() {
  static const QuantIsa best = quant_isa_supported(QuantIsa::kAvx512Vnni) ? QuantIsa::kAvx512Vnni
                               : quant_isa_supported(QuantIsa::kAvx2)     ? QuantIsa::kAvx2
                                                                          : QuantIsa::kScalar;
  return best;
}

bool quant_matmul_supported(DType wtype) { return quant_dot_scalar(wtype) != nullptr; }

void quant_matmul(const float* x, int64_t M, int64_t K, const void* w, DType wtype, int64_t N, const float* bias,
                  float* y, QuantIsa isa) {
  FORGE_CHECK(quant_matmul_supported(wtype), "[quant_linear] no quantized kernel for weight dtype {}",
              dtype_name(wtype));
  FORGE_CHECK(K % block_size(wtype) == 0, "[quant_linear] in_features {} is not a multiple of the {} block size {}", K,
              dtype_name(wtype), block_size(wtype));
  FORGE_CHECK(quant_isa_supported(isa), "[quant_linear] this CPU lacks the {} instructions", quant_isa_name(isa));
  QuantDotFn dot = isa == QuantIsa::kAvx512Vnni ? quant_dot_avx512(wtype)
                   : isa == QuantIsa::kAvx2     ? quant_dot_avx2(wtype)
                                                : quant_dot_scalar(wtype);
  // Activations quantized once per call into a per-thread buffer reused across calls (no
  // allocation per generated token once it has grown).
  const bool k_quant = uses_q8k(wtype);
  const size_t act_row = k_quant ? static_cast<size_t>(K / 256) * sizeof(BlockQ8K)
                                 : static_cast<size_t>(K / 32) * sizeof(BlockQ8A);
  thread_local std::vector<uint8_t> act;
  if (act.size() < act_row * static_cast<size_t>(M)) act.resize(act_row * static_cast<size_t>(M));
  uint8_t* act_data = act.data();
  parallel_for(0, M, 4, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) {
      if (k_quant) {
        quantize_act_q8k(x + m * K, reinterpret_cast<BlockQ8K*>(act_data + m * act_row), K);
      } else {
        quantize_act_q8a(x + m * K, reinterpret_cast<BlockQ8A*>(act_data + m * act_row), K);
      }
    }
  });
  const size_t w_row = nbytes_for(wtype, K);
  const auto* wb = static_cast<const uint8_t*>(w);
  // Blocks of weight rows stay in cache while every activation row passes over them.
  constexpr int64_t kRowTile = 16;
  parallel_for(0, N, 64, [&](int64_t n0, int64_t n1) {
    for (int64_t nt = n0; nt < n1; nt += kRowTile) {
      const int64_t nt1 = std::min(n1, nt + kRowTile);
      for (int64_t m = 0; m < M; ++m) {
        const uint8_t* a = act_data + m * act_row;
        float* yr = y + m * N;
        for (int64_t n = nt; n < nt1; ++n) {
          const float v = dot(K, wb + n * w_row, a);
          yr[n] = bias ? v + bias[n] : v;
        }
      }
    }
  });
}

}  // namespace forge::cpu
