#include "models/llm_kernels.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "backend/cpu/attention.h"
#include "backend/cpu/expf_exact.h"
#include "backend/cpu/gelu.h"
#include "backend/cpu/gemm.h"
#include "backend/cpu/half.h"
#include "backend/cpu/quant.h"
#include "backend/cpu/vec_math.h"
#include "core/error.h"
#include "core/parallel.h"
#include "formats/byte_source.h"

namespace forge::models {

namespace {

using cpu::QuantIsa;
QuantIsa best_isa() {
  static const QuantIsa isa = cpu::best_quant_isa();
  return isa;
}

}  // namespace

LinearWeight make_linear(const Tensor& weight, const Tensor& bias, const std::string& what, bool transposed) {
  FORGE_CHECK(weight.defined(), "[pretrained] missing weight tensor '{}'", what);
  FORGE_CHECK(weight.dim() == 2, "[pretrained] weight '{}' must be 2-d, got {}", what, shape_str(weight));
  LinearWeight w;
  w.weight = weight;
  w.transposed = transposed;
  w.out = transposed ? weight.size(1) : weight.size(0);
  w.in = transposed ? weight.size(0) : weight.size(1);
  FORGE_CHECK(!transposed || weight.dtype() == DType::kF32, "[pretrained] transposed weight '{}' must be f32, got {}",
              what, dtype_name(weight.dtype()));
  if (!is_quantized(weight.dtype()) && weight.dtype() != DType::kF32) w.weight = weight.to(DType::kF32);
  if (w.weight.dtype() == DType::kF32) w.weight = w.weight.contiguous();
  if (!transposed && cpu::packed_quant_supported(w.weight.dtype()) && w.in % 32 == 0) {
    const Tensor c = w.weight.contiguous();
    w.packed =
        std::make_shared<const cpu::PackedQuantMatrix>(cpu::pack_quant_rows(c.raw_data(), c.dtype(), w.out, w.in));
    // Only the packed copy is read from now on (token embeddings read single rows).
    release_file_pages(c.raw_data(), nbytes_for(c.dtype(), c.numel()));
  }
  if (bias.defined()) {
    FORGE_CHECK(bias.dim() == 1 && bias.size(0) == w.out, "[pretrained] bias of '{}' must be [{}], got {}", what, w.out,
                shape_str(bias));
    w.bias = bias.to(DType::kF32).contiguous();
  }
  return w;
}

namespace {

void add_bias(const LinearWeight& w, int64_t m, float* y) {
  if (!w.bias.defined()) return;
  const float* b = w.bias.data<float>();
  for (int64_t i = 0; i < m; ++i) {
    float* row = y + i * w.out;
    for (int64_t j = 0; j < w.out; ++j) row[j] += b[j];
  }
}

}  // namespace

void linears_into(std::initializer_list<std::pair<const LinearWeight*, float*>> layers, const float* x, int64_t m,
                  std::vector<float>& scratch) {
  bool shared = true;
  const int64_t in = layers.begin()->first->in;
  for (const auto& [w, y] : layers) shared = shared && w->packed && w->in == in;
  if (!shared) {
    for (const auto& [w, y] : layers) linear_into(*w, x, m, y, scratch);
    return;
  }
  thread_local std::vector<cpu::BlockQ8A> act;
  cpu::quantize_act_rows(x, m, in, act);
  for (const auto& [w, y] : layers) {
    cpu::packed_quant_matmul_q8(*w->packed, act.data(), m, y, w->out);
    add_bias(*w, m, y);
  }
}

void linear_into(const LinearWeight& w, const float* x, int64_t m, float* y, std::vector<float>& scratch) {
  if (w.packed) {
    // Interleaved int8 kernel: the fastest path for decode and (4 rows per pass) for prefill.
    cpu::packed_quant_matmul(*w.packed, x, m, y);
  } else if (w.weight.dtype() == DType::kF32) {
    const float* wp = w.weight.data<float>();
    if (w.transposed) {
      cpu::sgemm(false, false, m, w.out, w.in, 1.0f, x, w.in, wp, w.out, 0.0f, y, w.out);
    } else {
      cpu::sgemm(false, true, m, w.out, w.in, 1.0f, x, w.in, wp, w.in, 0.0f, y, w.out);
    }
  } else {
    const QuantIsa isa = best_isa();
    if (m >= kDequantGemmRows) {
      // Long prefill chunks: dequantize the weight once into `scratch` and use f32 GEMM, which
      // beats M separate integer matvecs (and keeps f32 activations).
      const size_t need = static_cast<size_t>(w.out * w.in);
      if (scratch.size() < need) scratch.resize(need);
      float* deq = scratch.data();
      const size_t row_bytes = nbytes_for(w.weight.dtype(), w.in);
      const auto* base = static_cast<const uint8_t*>(w.weight.raw_data());
      parallel_for(0, w.out, 64, [&](int64_t lo, int64_t hi) {
        for (int64_t n = lo; n < hi; ++n) {
          cpu::dequantize_row(w.weight.dtype(), base + static_cast<size_t>(n) * row_bytes, deq + n * w.in, w.in);
        }
      });
      cpu::sgemm(false, true, m, w.out, w.in, 1.0f, x, w.in, deq, w.in, 0.0f, y, w.out);
    } else if (cpu::quant_matmul_supported(w.weight.dtype())) {
      // Integer-dot kernels (activations quantized to 8 bits); allocation-free after warm-up.
      cpu::quant_matmul(x, m, w.in, w.weight.raw_data(), w.weight.dtype(), w.out, nullptr, y, isa);
    } else {
      // Other block types: dequantize each weight row (slow path, correct for every type).
      parallel_for(0, w.out, 16, [&](int64_t lo, int64_t hi) {
        thread_local std::vector<float> row;
        row.resize(static_cast<size_t>(w.in));
        for (int64_t n = lo; n < hi; ++n) {
          embedding_row(w.weight, n, row.data());
          for (int64_t i = 0; i < m; ++i) {
            const float* xr = x + i * w.in;
            float acc = 0.0f;
            for (int64_t k = 0; k < w.in; ++k) acc += xr[k] * row[static_cast<size_t>(k)];
            y[i * w.out + n] = acc;
          }
        }
      });
    }
  }
  add_bias(w, m, y);
}

void embedding_row(const Tensor& table, int64_t row, float* out) {
  const int64_t dim = table.size(1);
  FORGE_CHECK(row >= 0 && row < table.size(0), "[pretrained] token id {} out of range [0, {})", row, table.size(0));
  const DType dt = table.dtype();
  const auto* base = static_cast<const uint8_t*>(table.raw_data());
  switch (dt) {
    case DType::kF32:
      std::memcpy(out, table.data<float>() + row * dim, static_cast<size_t>(dim) * sizeof(float));
      return;
    case DType::kF16: {
      const auto* p = reinterpret_cast<const uint16_t*>(base) + row * dim;
      for (int64_t j = 0; j < dim; ++j) out[j] = cpu::f16_to_float(p[j]);
      return;
    }
    case DType::kBF16: {
      const auto* p = reinterpret_cast<const uint16_t*>(base) + row * dim;
      for (int64_t j = 0; j < dim; ++j) out[j] = cpu::bf16_to_float(p[j]);
      return;
    }
    default: cpu::dequantize_row(dt, base + nbytes_for(dt, row * dim), out, dim);
  }
}

void embedding_row(const cpu::PackedQuantMatrix& table, int64_t row, float* out) {
  FORGE_CHECK(row >= 0 && row < table.rows, "[pretrained] token id {} out of range [0, {})", row, table.rows);
  cpu::dequantize_packed_rows(table, row, row + 1, out);
}

std::vector<float> vector_f32(const Tensor& t, int64_t expected, const std::string& what) {
  FORGE_CHECK(t.defined(), "[pretrained] missing tensor '{}'", what);
  FORGE_CHECK(t.numel() == expected, "[pretrained] tensor '{}' must have {} elements, got {}", what, expected,
              shape_str(t));
  return t.to(DType::kF32).contiguous().to_vector<float>();
}

void rms_norm_rows(const float* x, int64_t m, int64_t n, const float* gain, float eps, float* y) {
  for (int64_t i = 0; i < m; ++i) {
    const float* xr = x + i * n;
    float* yr = y + i * n;
    float ss = 0.0f;
    for (int64_t j = 0; j < n; ++j) ss += xr[j] * xr[j];
    const float r = 1.0f / std::sqrt(ss / static_cast<float>(n) + eps);
    for (int64_t j = 0; j < n; ++j) yr[j] = xr[j] * r * gain[j];
  }
}

void layer_norm_rows(const float* x, int64_t m, int64_t n, const float* gain, const float* bias, float eps, float* y) {
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int64_t i = 0; i < m; ++i) {
    const float* xr = x + i * n;
    float* yr = y + i * n;
    float mean = 0.0f;
#pragma omp simd reduction(+ : mean)
    for (int64_t j = 0; j < n; ++j) mean += xr[j];
    mean *= inv_n;
    float var = 0.0f;
#pragma omp simd reduction(+ : var)
    for (int64_t j = 0; j < n; ++j) var += (xr[j] - mean) * (xr[j] - mean);
    const float r = 1.0f / std::sqrt(var * inv_n + eps);
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) yr[j] = (xr[j] - mean) * r * gain[j] + bias[j];
  }
}

void silu_mul(float* a, const float* b, int64_t n) {
  // expf_exact is glibc's expf, vectorizable; inputs outside its range (rare) take the libm loop.
  const uint64_t* tab = cpu::expf_detail::table().t;
  int64_t outside = 0;
#pragma omp simd reduction(+ : outside)
  for (int64_t i = 0; i < n; ++i) outside += cpu::expf_exact_in_range(-a[i]) ? 0 : 1;
  if (outside == 0) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) a[i] = a[i] / (1.0f + cpu::expf_exact(-a[i], tab)) * b[i];
    return;
  }
  for (int64_t i = 0; i < n; ++i) a[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
}

namespace {

// e^v for v <= 0 (the exp_approx polynomial; its range selects over FP values stop GCC from
// vectorizing, so v is clamped to >= -87 on the bits: for negative floats a larger magnitude
// is a larger unsigned integer). e^-87 ~ 1.6e-38 stands in for smaller results.
inline float exp_nonpos(float v_in) {
  constexpr uint32_t kMinus87 = std::bit_cast<uint32_t>(-87.0f);
  uint32_t bits = std::bit_cast<uint32_t>(v_in);
  bits = bits < kMinus87 ? bits : kMinus87;
  const float v = std::bit_cast<float>(bits);
  constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float shifted = v * kLog2e + kRound;
  const float n = shifted - kRound;
  const int32_t ni = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kRound);
  const float r = v - n * kLn2Hi - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * std::bit_cast<float>((ni + 127) << 23);
}

}  // namespace

void add_inplace(float* x, const float* r, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] += r[i];
}

void gelu_inplace(float* x, int64_t n, bool tanh_approx) {
  if (tanh_approx) {
    constexpr float k = 0.7978845608028654f;  // sqrt(2/pi)
    for (int64_t i = 0; i < n; ++i)
      x[i] = 0.5f * x[i] * (1.0f + std::tanh(k * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
  } else {
    cpu::gelu_forward(x, x, n);
  }
}

void add_layer_norm_rows(float* x, const float* h, const float* h_bias, int64_t m, int64_t n, const float* gain,
                         const float* bias, float eps) {
  parallel_for(0, m, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      float* xr = x + i * n;
      const float* hr = h + i * n;
      if (h_bias != nullptr) {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) xr[j] += hr[j] + h_bias[j];
      } else {
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) xr[j] += hr[j];
      }
      layer_norm_rows(xr, 1, n, gain, bias, eps, xr);
    }
  });
}

void bias_act_rows(float* y, const float* bias, int64_t m, int64_t n, bool gelu, bool tanh_approx) {
  parallel_for(0, m, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      float* yr = y + i * n;
      if (bias != nullptr) add_inplace(yr, bias, n);
      if (gelu) gelu_inplace(yr, n, tanh_approx);
    }
  });
}

void attend_full(const float* q, const float* k, const float* v, int64_t ld, int64_t n, int64_t hd, float scale,
                 float* out, int64_t ld_out, float* scores) {
  cpu::sgemm(false, true, n, n, hd, scale, q, ld, k, ld, 0.0f, scores, n);
  for (int64_t i = 0; i < n; ++i) {
    // Row softmax, vectorized (exp_nonpos, ~1 ulp; the sum in SIMD order).
    float* row = scores + i * n;
    float mx = row[0];
#pragma omp simd reduction(max : mx)
    for (int64_t j = 1; j < n; ++j) mx = row[j] > mx ? row[j] : mx;
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < n; ++j) {
      row[j] = exp_nonpos(row[j] - mx);
      sum += row[j];
    }
    const float inv = 1.0f / sum;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) row[j] *= inv;
  }
  cpu::sgemm(false, false, n, hd, n, 1.0f, scores, n, v, ld, 0.0f, out, ld_out);
}

void attend_cached(const float* q, int64_t kv_heads, int64_t group, int64_t hd, const float* k, const float* v,
                   int64_t kv_stride, int64_t len, float scale, float* scores, float* out) {
  const int64_t heads = kv_heads * group;
  // scores[h][s] = scale * q_h . k_s
  cpu::attention_scores(q, kv_heads, group, hd, k, kv_stride, len, scale, scores);
  for (int64_t h = 0; h < heads; ++h) cpu::attention_softmax_row(scores + h * len, len);
  // out_h = sum_s p_h[s] v_s
  cpu::attention_weighted_sum(scores, kv_heads, group, hd, v, kv_stride, len, out);
}

void softmax_inplace(float* x, int64_t n) {
  float mx = x[0];
#pragma omp simd reduction(max : mx)
  for (int64_t i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  // e^(x - mx) with expf_exact (bit-identical to std::exp, vectorizable) unless some difference
  // is outside its range (then libm for the row).
  const uint64_t* tab = cpu::expf_detail::table().t;
  int64_t outside = 0;
#pragma omp simd reduction(+ : outside)
  for (int64_t i = 0; i < n; ++i) outside += cpu::expf_exact_in_range(x[i] - mx) ? 0 : 1;
  if (outside == 0) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) x[i] = cpu::expf_exact(x[i] - mx, tab);
  } else {
    for (int64_t i = 0; i < n; ++i) x[i] = std::exp(x[i] - mx);
  }
  float sum = 0.0f;  // sequential: the same rounding as ever
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace forge::models
