#include "backend/cpu/norm.h"

#include <algorithm>
#include <cmath>

#include "core/parallel.h"

namespace forge::cpu {

namespace {
int64_t row_grain(int64_t n) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, n)); }
}  // namespace

void layer_norm_forward(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t n, double eps) {
  parallel_for(0, rows, row_grain(n), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      // Two passes (mean, then squared deviations): no cancellation for large offsets.
      double s = 0;
      for (int64_t i = 0; i < n; ++i) s += xr[i];
      const double m = n > 0 ? s / static_cast<double>(n) : 0.0;
      double ss = 0;
      for (int64_t i = 0; i < n; ++i) {
        const double d = xr[i] - m;
        ss += d * d;
      }
      const double v = n > 0 ? ss / static_cast<double>(n) : 0.0;
      const float rs = static_cast<float>(1.0 / std::sqrt(v + eps));
      const float mf = static_cast<float>(m);
      if (mean != nullptr) mean[r] = mf;
      if (rstd != nullptr) rstd[r] = rs;
      if (w != nullptr && b != nullptr) {
        for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mf) * rs * w[i] + b[i];
      } else if (w != nullptr) {
        for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mf) * rs * w[i];
      } else if (b != nullptr) {
        for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mf) * rs + b[i];
      } else {
        for (int64_t i = 0; i < n; ++i) yr[i] = (xr[i] - mf) * rs;
      }
    }
  });
}

void rms_norm_forward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t n, double eps) {
  parallel_for(0, rows, row_grain(n), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      double ss = 0;
      for (int64_t i = 0; i < n; ++i) ss += static_cast<double>(xr[i]) * xr[i];
      const double ms = n > 0 ? ss / static_cast<double>(n) : 0.0;
      const float rs = static_cast<float>(1.0 / std::sqrt(ms + eps));
      if (rstd != nullptr) rstd[r] = rs;
      if (w != nullptr) {
        for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * rs * w[i];
      } else {
        for (int64_t i = 0; i < n; ++i) yr[i] = xr[i] * rs;
      }
    }
  });
}

void channel_moments(const float* x, float* mean, float* var, int64_t outer, int64_t channels, int64_t inner) {
  const double count = static_cast<double>(outer * inner);
  parallel_for(0, channels, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, outer * inner)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t c = lo; c < hi; ++c) {
                   double s = 0;
                   for (int64_t o = 0; o < outer; ++o) {
                     const float* p = x + (o * channels + c) * inner;
                     for (int64_t i = 0; i < inner; ++i) s += p[i];
                   }
                   const double m = count > 0 ? s / count : 0.0;
                   double ss = 0;
                   for (int64_t o = 0; o < outer; ++o) {
                     const float* p = x + (o * channels + c) * inner;
                     for (int64_t i = 0; i < inner; ++i) {
                       const double d = p[i] - m;
                       ss += d * d;
                     }
                   }
                   mean[c] = static_cast<float>(m);
                   var[c] = static_cast<float>(count > 0 ? ss / count : 0.0);
                 }
               });
}

void channel_normalize(const float* x, float* y, const float* mean, const float* scale, const float* shift,
                       int64_t outer, int64_t channels, int64_t inner) {
  parallel_for(0, outer * channels, row_grain(inner), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const int64_t c = r % channels;
      const float m = mean[c];
      const float a = scale[c];
      const float b = shift[c];
      const float* p = x + r * inner;
      float* q = y + r * inner;
      for (int64_t i = 0; i < inner; ++i) q[i] = (p[i] - m) * a + b;
    }
  });
}

}  // namespace forge::cpu
