// expf_exact (backend/cpu/expf_exact.h) must return exactly std::exp's float (glibc's expf):
// softmax and SiLU switched to it on the promise that no result changes.
#include "backend/cpu/expf_exact.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>

namespace forge {
namespace {

TEST(ExpfExact, BitIdenticalToLibmOverItsRange) {
  const uint64_t* tab = cpu::expf_detail::table().t;
  int64_t checked = 0, differ = 0;
  float first_bad = 0.0f;
  // Every 61st float (by bit pattern) of both signs inside the range, plus the ends.
  for (uint32_t sign : {0u, 0x80000000u}) {
    for (uint32_t bits = 0; bits < 0x42b00000u; bits += 61) {  // |x| < 88
      const float x = std::bit_cast<float>(bits | sign);
      if (!cpu::expf_exact_in_range(x)) continue;
      ++checked;
      if (std::bit_cast<uint32_t>(cpu::expf_exact(x, tab)) != std::bit_cast<uint32_t>(std::exp(x))) {
        if (differ++ == 0) first_bad = x;
      }
    }
  }
  for (float x : {-86.99f, 87.99f, 0.0f, -0.0f, 1e-30f, -1e-30f, 1.0f, -1.0f}) {
    ++checked;
    if (std::bit_cast<uint32_t>(cpu::expf_exact(x, tab)) != std::bit_cast<uint32_t>(std::exp(x))) ++differ;
  }
  EXPECT_GT(checked, 30'000'000);
  EXPECT_EQ(differ, 0) << "first difference at x = " << first_bad;
  EXPECT_FALSE(cpu::expf_exact_in_range(-88.0f));
  EXPECT_FALSE(cpu::expf_exact_in_range(88.0f));
  EXPECT_FALSE(cpu::expf_exact_in_range(NAN));
}

}  // namespace
}  // namespace forge
