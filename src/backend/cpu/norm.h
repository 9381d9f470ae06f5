#pragma once
// Fused normalization kernels (float32, contiguous). Statistics accumulate in double.
#include <cstdint>

namespace forge::cpu {

// Per row of x [rows, n]: y = (x - mean) * rstd * w + b with rstd = 1/sqrt(biased var + eps).
// w and b ([n]) may be null; mean and rstd ([rows]) are written when not null.
void layer_norm_forward(const float* x, const float* w, const float* b, float* y, float* mean, float* rstd,
                        int64_t rows, int64_t n, double eps);
// Per row of x [rows, n]: y = x * rstd * w with rstd = 1/sqrt(mean(x^2) + eps). w may be null.
void rms_norm_forward(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t n, double eps);
// Per channel of x [outer, channels, inner]: mean and biased variance over outer and inner.
void channel_moments(const float* x, float* mean, float* var, int64_t outer, int64_t channels, int64_t inner);
// y[o, c, i] = (x[o, c, i] - mean[c]) * scale[c] + shift[c] (centering first keeps precision
// when |mean| >> std).
void channel_normalize(const float* x, float* y, const float* mean, const float* scale, const float* shift,
                       int64_t outer, int64_t channels, int64_t inner);

}  // namespace forge::cpu
