// The vectorized max-pool paths (2x2 / stride 2, and 1-D windows) against a naive loop over many widths (full
// eight-output blocks, the overlapping last block, masked rows of fewer than eight outputs),
// with ties (first maximum in window order wins) and NaNs (the window's first NaN wins): output
// values and where backward sends each gradient.
#include <cmath>
#include <limits>

#include "ops/pool.h"
#include "ops/reduce.h"
#include "test_util.h"

namespace forge {
namespace {

struct Naive {
  std::vector<float> out;
  std::vector<int64_t> argmax;  // flat index into the input plane set
};

Naive naive_pool(const std::vector<float>& x, int64_t planes, int64_t h, int64_t w) {
  const int64_t oh = h / 2, ow = w / 2;
  Naive r;
  for (int64_t p = 0; p < planes; ++p) {
    for (int64_t i = 0; i < oh; ++i) {
      for (int64_t j = 0; j < ow; ++j) {
        int64_t best = -1;
        for (int64_t di = 0; di < 2 && best < 0; ++di)
          for (int64_t dj = 0; dj < 2; ++dj) {
            const int64_t k = p * h * w + (2 * i + di) * w + 2 * j + dj;
            if (std::isnan(x[k])) { best = k; break; }
          }
        if (best < 0) {
          best = p * h * w + 2 * i * w + 2 * j;
          for (int64_t di = 0; di < 2; ++di)
            for (int64_t dj = 0; dj < 2; ++dj) {
              const int64_t k = p * h * w + (2 * i + di) * w + 2 * j + dj;
              if (x[k] > x[best]) best = k;
            }
        }
        r.out.push_back(x[best]);
        r.argmax.push_back(best);
      }
    }
  }
  return r;
}

TEST(MaxPool2x2, MatchesNaiveLoopAcrossWidthsTiesAndNaNs) {
  Generator gen(7);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t w : {2, 3, 5, 11, 15, 16, 17, 18, 26, 31, 32, 33, 40}) {
    for (int64_t h : {2, 3, 6, 7}) {
      const int64_t planes = 3;
      std::vector<float> x(static_cast<size_t>(planes * h * w));
      // Small integers: many ties inside a window.
      for (float& v : x) v = static_cast<float>(static_cast<int>(gen.uniform() * 4.0));
      if (w >= 5) x[static_cast<size_t>(w + 3)] = nan;  // one NaN in the second input row
      const Naive ref = naive_pool(x, planes, h, w);
      Tensor t = from_vector(x, {1, planes, h, w});
      t.set_requires_grad(true);
      Tensor y = max_pool2d(t, {2, 2});
      const std::vector<float> got = y.to_vector<float>();
      ASSERT_EQ(got.size(), ref.out.size()) << "w=" << w << " h=" << h;
      for (size_t i = 0; i < got.size(); ++i) {
        if (std::isnan(ref.out[i])) {
          EXPECT_TRUE(std::isnan(got[i])) << "w=" << w << " h=" << h << " output " << i;
        } else {
          EXPECT_EQ(got[i], ref.out[i]) << "w=" << w << " h=" << h << " output " << i;
        }
      }
      // Backward with distinct weights per output: each lands on its window's first maximum.
      std::vector<float> weights(got.size());
      for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i + 1);
      // (The gradient of sum(y * weights) with respect to y is `weights`, NaN windows included.)
      sum(mul(y, from_vector(weights, y.shape()))).backward();
      std::vector<float> expected(x.size(), 0.0f);
      for (size_t i = 0; i < ref.argmax.size(); ++i) expected[static_cast<size_t>(ref.argmax[i])] = static_cast<float>(i + 1);
      const std::vector<float> grad = t.grad().to_vector<float>();
      for (size_t k = 0; k < grad.size(); ++k)
        EXPECT_EQ(grad[k], expected[k]) << "w=" << w << " h=" << h << " input " << k;
    }
  }
}

// 1-D windows (the gathered AVX2 path): kernel k, stride s, valid padding, against a naive loop.
TEST(MaxPool1xK, MatchesNaiveLoopAcrossKernelsStridesTiesAndNaNs) {
  Generator gen(11);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t k : {2, 3, 7}) {
    for (int64_t stride = 1; stride <= k; ++stride) {
      for (int64_t len : {7, 9, 20, 64, 94, 101}) {
        if (len < k) continue;
        const int64_t planes = 4, out_len = (len - k) / stride + 1;
        std::vector<float> x(static_cast<size_t>(planes * len));
        for (float& v : x) v = static_cast<float>(static_cast<int>(gen.uniform() * 5.0));
        x[static_cast<size_t>(len + 2)] = nan;
        Tensor t = from_vector(x, {2, 2, len});
        t.set_requires_grad(true);
        Tensor y = max_pool1d(t, k, stride);
        ASSERT_EQ(y.numel(), planes * out_len);
        const std::vector<float> got = y.to_vector<float>();
        std::vector<float> weights(got.size());
        std::vector<float> expected(x.size(), 0.0f);
        for (int64_t p = 0; p < planes; ++p) {
          for (int64_t o = 0; o < out_len; ++o) {
            const size_t out_i = static_cast<size_t>(p * out_len + o);
            int64_t best = p * len + o * stride;
            for (int64_t j = 0; j < k && !std::isnan(x[static_cast<size_t>(best)]); ++j) {
              const int64_t at = p * len + o * stride + j;
              if (std::isnan(x[static_cast<size_t>(at)]) || x[static_cast<size_t>(at)] > x[static_cast<size_t>(best)])
                best = at;
            }
            const float want = x[static_cast<size_t>(best)];
            if (std::isnan(want)) {
              EXPECT_TRUE(std::isnan(got[out_i])) << "k=" << k << " s=" << stride << " len=" << len << " out " << out_i;
            } else {
              EXPECT_EQ(got[out_i], want) << "k=" << k << " s=" << stride << " len=" << len << " out " << out_i;
            }
            weights[out_i] = static_cast<float>(out_i + 1);
            expected[static_cast<size_t>(best)] += weights[out_i];
          }
        }
        sum(mul(y, from_vector(weights, y.shape()))).backward();
        const std::vector<float> grad = t.grad().to_vector<float>();
        for (size_t i = 0; i < grad.size(); ++i)
          EXPECT_EQ(grad[i], expected[i]) << "k=" << k << " s=" << stride << " len=" << len << " input " << i;
      }
    }
  }
}

}  // namespace
}  // namespace forge
