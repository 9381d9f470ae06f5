// cpu::erf_approx (the vectorizable erf behind GELU) against std::erf in double.
#include <cmath>
#include <limits>

#include "backend/cpu/gelu.h"
#include "backend/cpu/vec_math.h"
#include "test_util.h"

namespace forge {
namespace {

// Distance in float ulps at the reference value.
double ulps(float got, double want) {
  const double ulp = std::nextafter(static_cast<float>(std::fabs(want)), std::numeric_limits<float>::infinity()) -
                     static_cast<float>(std::fabs(want));
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

TEST(ErfApprox, MatchesStdErfOnADenseGrid) {
  double max_abs = 0, max_ulps = 0;
  for (int64_t i = -600000; i <= 600000; ++i) {
    const float x = static_cast<float>(i) * 1e-5f;  // [-6, 6]
    const double want = std::erf(static_cast<double>(x));
    const float got = cpu::erf_approx(x);
    max_abs = std::max(max_abs, std::fabs(got - want));
    if (std::fabs(want) > 1e-3) max_ulps = std::max(max_ulps, ulps(got, want));
  }
  EXPECT_LT(max_abs, 1.2e-7);
  EXPECT_LE(max_ulps, 2.0);
  // Tiny arguments keep their relative accuracy (erf(x) ~ 2x/sqrt(pi)).
  for (float x : {1e-30f, -3e-20f, 1e-10f, 2e-6f, -7e-4f}) {
    EXPECT_LE(ulps(cpu::erf_approx(x), std::erf(static_cast<double>(x))), 2.0) << x;
  }
}

TEST(ErfApprox, LimitsAndNaN) {
  EXPECT_EQ(cpu::erf_approx(0.0f), 0.0f);
  EXPECT_EQ(cpu::erf_approx(10.0f), 1.0f);
  EXPECT_EQ(cpu::erf_approx(-1e30f), -1.0f);
  EXPECT_EQ(cpu::erf_approx(std::numeric_limits<float>::infinity()), 1.0f);
  EXPECT_EQ(cpu::erf_approx(-std::numeric_limits<float>::infinity()), -1.0f);
  EXPECT_TRUE(std::isnan(cpu::erf_approx(std::numeric_limits<float>::quiet_NaN())));
}

// The AVX2 GELU kernels against x * Phi(x) in double, on lengths that exercise the 8-lane body
// and the scalar tail, with NaN / infinities / large values mixed in.
TEST(GeluKernels, MatchReferenceOnOddLengths) {
  const float inf = std::numeric_limits<float>::infinity();
  for (int64_t n : {1, 7, 8, 9, 15, 17, 33, 20001}) {
    std::vector<float> x(static_cast<size_t>(n)), y(static_cast<size_t>(n)), c(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) x[static_cast<size_t>(i)] = static_cast<float>((i * 7919) % 2001 - 1000) * 0.006f;
    if (n > 9) {
      x[3] = std::numeric_limits<float>::quiet_NaN();
      x[4] = inf;
      x[5] = -inf;
      x[6] = 1e30f;
      x[8] = -1e30f;
    }
    cpu::gelu_forward(x.data(), y.data(), n);
    cpu::normal_cdf(x.data(), c.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const size_t k = static_cast<size_t>(i);
      const double v = x[k];
      const double phi = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0)));
      if (std::isnan(v)) {
        EXPECT_TRUE(std::isnan(y[k]) && std::isnan(c[k])) << "n=" << n;
        continue;
      }
      // Phi to ~1e-7 absolute (erf's error, halved, plus float rounding of 1 + erf).
      EXPECT_NEAR(c[k], phi, 1.2e-7) << "x=" << v << " n=" << n;
      if (std::isinf(v)) {
        // As the formula: gelu(inf) = inf, gelu(-inf) = -inf * 0 = NaN (the scalar op's result too).
        if (v > 0) EXPECT_EQ(y[k], inf) << "n=" << n;
        else EXPECT_TRUE(std::isnan(y[k])) << "n=" << n;
        continue;
      }
      EXPECT_NEAR(y[k], v * phi, 1.2e-7 * std::fabs(v) + 1e-30) << "x=" << v << " n=" << n;
      // Vector body and scalar tail compute the same thing.
      EXPECT_EQ(c[k], 0.5f * (1.0f + cpu::erf_approx(x[k] * 0.70710678118654752f))) << "x=" << v << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace forge
