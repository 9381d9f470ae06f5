#pragma once
// Branch-free float math that the compiler can vectorize (std::exp is a scalar libm call
// unless the build uses -fno-math-errno / -ffast-math, which Forge does not).
#include <bit>
#include <cstdint>

namespace forge::cpu {

// e^x with ~1 ulp relative error for x in [-87.3, 88.7] (Cephes expf: range reduction by
// ln 2, degree-6 polynomial, exponent via bits). Below -87.3 it returns 0, above 88.7 it
// saturates at about 1.6e38.
//
// Written to vectorize under GCC's default -ftrapping-math: no float->int conversion
// (rounding uses the 1.5 * 2^23 trick) and no std::floor, either of which stops it.
inline float exp_approx(float x) {
  constexpr float kLog2e = 1.44269504088896341f;
  constexpr float kLn2Hi = 0.693359375f;
  constexpr float kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const bool underflow = x < -87.3f;
  float v = x > 88.7f ? 88.7f : x;
  v = v < -87.3f ? -87.3f : v;
  const float shifted = v * kLog2e + kRound;
  const float n = shifted - kRound;  // round(v / ln 2)
  const int32_t ni = std::bit_cast<int32_t>(shifted) - std::bit_cast<int32_t>(kRound);
  const float r = v - n * kLn2Hi - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float y = p * std::bit_cast<float>((ni + 127) << 23);
  return underflow ? 0.0f : y;
}

// sqrt(v) for v >= 0 (0 gives 0, NaN gives NaN), within ~1 ulp: an inverse square root
// estimate from the exponent bits, three Newton steps, then one Newton correction of
// v * rsqrt(v). std::sqrt does not vectorize under -fmath-errno (GCC's default).
inline float sqrt_nonneg(float v_in) {
  // Subnormals are scaled by 2^46 first (and the root by 2^-23 after) so the bit estimate holds.
  const bool tiny = v_in < 1.17549435e-38f;
  // Selects between constants only: GCC will not if-convert a select over FP arithmetic.
  const float v = v_in * (tiny ? 70368744177664.0f : 1.0f);
  float y = std::bit_cast<float>(0x5f375a86 - (std::bit_cast<int32_t>(v) >> 1));
  const float half = 0.5f * v;
  y = y * (1.5f - half * y * y);
  y = y * (1.5f - half * y * y);
  y = y * (1.5f - half * y * y);
  const float s = v * y;
  const float root = s + 0.5f * y * (v - s * s);
  return root * (tiny ? 1.1920928955078125e-7f : 1.0f);
}

// erf(x) as the rational x * P(x^2) / Q(x^2) on [-4, 4] (the coefficients of Eigen's / XLA's
// float erf; beyond +-4 erf rounds to +-1 in float), evaluated in double: within 1.6 ulp of
// std::erf where |erf| > 1e-3 and 1e-7 absolute everywhere (float evaluation of the same
// rational loses ~5 ulp near |x| = 3). NaN gives NaN. Branch-free so GCC vectorizes it
// (std::erf is a scalar libm call); tests/ops/vec_math_erf_test.cpp checks it.
inline float erf_approx(float x_in) {
  // Convert first, then clamp with selects between values (GCC does not if-convert a select
  // next to a conversion into a vector blend); NaN passes both selects unchanged.
  double x = x_in;
  x = x > 4.0 ? 4.0 : x;
  x = x < -4.0 ? -4.0 : x;
  const double x2 = x * x;
  double p = -2.72614225801306e-10;
  p = p * x2 + 2.77068142495902e-08;
  p = p * x2 - 2.10102402082508e-06;
  p = p * x2 - 5.69250639462346e-05;
  p = p * x2 - 7.34990630326855e-04;
  p = p * x2 - 2.95459980854025e-03;
  p = p * x2 - 1.60960333262415e-02;
  double q = -1.45660718464996e-05;
  q = q * x2 - 2.13374055278905e-04;
  q = q * x2 - 1.68282697438203e-03;
  q = q * x2 - 7.37332916720468e-03;
  q = q * x2 - 1.42647390514189e-02;
  return static_cast<float>(x * p / q);
}

}  // namespace forge::cpu
