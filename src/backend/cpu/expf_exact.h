#pragma once
// e^x for float, vectorizable, computing exactly what glibc's expf computes (the
// table-driven algorithm of sysdeps/ieee754/flt-32/e_expf.c evaluated in double, < 0.502 ulp):
// the same 32-entry table of 2^(i/32), the same degree-3 polynomial, the same operation order
// (with FMA contraction, as glibc's x86-64 FMA variant). So replacing std::exp with it changes no
// result (tests/quant/expf_exact_test.cpp checks this against the libm the build links) while
// letting loops over scores (softmax, SiLU) vectorize instead of calling libm per element.
// Inputs outside [-103, 88.7] (and NaN) take the libm call, so special cases stay glibc's.
#include <bit>
#include <cmath>
#include <cstdint>

namespace forge::cpu {

namespace expf_detail {

constexpr int kTableBits = 5;
constexpr int kN = 1 << kTableBits;

// T[i] = bits(2^(i/32)) - (i << 47), as glibc's __exp2f_data.tab.
struct Table {
  uint64_t t[kN];
};
inline const Table& table() {
  static const Table tab = [] {
    Table r{};
    for (int i = 0; i < kN; ++i) {
      const double v = static_cast<double>(std::exp2l(static_cast<long double>(i) / kN));
      r.t[i] = std::bit_cast<uint64_t>(v) - (static_cast<uint64_t>(i) << (52 - kTableBits));
    }
    return r;
  }();
  return tab;
}

}  // namespace expf_detail

// Same value as std::exp(x) for float x (glibc), see above. `tab` is expf_detail::table().t.
inline float expf_exact(float x, const uint64_t* tab) {
  constexpr double kInvLn2N = 0x1.71547652b82fep+0 * expf_detail::kN;
  constexpr double kShift = 0x1.8p+52;
  constexpr double kC0 = 0x1.c6af84b912394p-5 / expf_detail::kN / expf_detail::kN / expf_detail::kN;
  constexpr double kC1 = 0x1.ebfce50fac4f3p-3 / expf_detail::kN / expf_detail::kN;
  constexpr double kC2 = 0x1.62e42ff0c52d6p-1 / expf_detail::kN;
  const auto xd = static_cast<double>(x);
  const double z = kInvLn2N * xd;
  double kd = z + kShift;
  const uint64_t ki = std::bit_cast<uint64_t>(kd);
  kd -= kShift;
  const double r = z - kd;
  const uint64_t t = tab[ki % expf_detail::kN] + (ki << (52 - expf_detail::kTableBits));
  const double s = std::bit_cast<double>(t);
  const double zz = std::fma(kC0, r, kC1);
  const double r2 = r * r;
  double y = std::fma(kC2, r, 1.0);
  y = std::fma(zz, r2, y);
  return static_cast<float>(y * s);
}

// Whether expf_exact covers x without glibc's special-case branch (|x| small enough that the
// result is a normal float; glibc handles the rest separately).
inline bool expf_exact_in_range(float x) { return (x > -87.0f) & (x < 88.0f); }  // no branch: vectorizes

}  // namespace forge::cpu
