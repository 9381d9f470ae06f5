#include "backend/cpu/gemm.h"

#include <oneapi/dnnl/dnnl.h>

#include "core/error.h"
#include "core/parallel.h"

namespace forge::cpu {

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  if (k == 0) {  // oneDNN rejects K = 0; the product is all zeros
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    }
    return;
  }
  num_threads();  // make sure the OpenMP team size is configured before oneDNN reads it
  const dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb,
                                          beta, c, ldc);
  FORGE_CHECK(status == dnnl_success, "[matmul] oneDNN sgemm failed with status {} for M={} N={} K={}",
              static_cast<int>(status), m, n, k);
}

}  // namespace forge::cpu
