#pragma once
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "forge.h"
#include "ops/precision.h"

namespace forge::test {

// Asserts elementwise |a - b| <= atol + rtol * |b| and equal shapes.
::testing::AssertionResult all_close(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6);
// Runs gradcheck and turns a failure into a gtest failure with the mismatch.
::testing::AssertionResult grad_ok(const std::function<Tensor(const Tensors&)>& f, const Tensors& inputs,
                                   const GradcheckOptions& options = {});
// A float32 leaf with requires_grad and values from N(0, 1) under a fixed seed, times `scale`.
Tensor randn_leaf(const Shape& shape, uint64_t seed, double scale = 1.0);
// A float32 tensor (no gradient) with values from N(0, 1) under a fixed seed.
Tensor randn_tensor(const Shape& shape, uint64_t seed);
// Cosine similarity of two equally long vectors, accumulated in double.
double cosine(const std::vector<float>& a, const std::vector<float>& b);
// A Sequential's output the ordinary way: each layer's own forward in turn (the reference for
// the fused fast paths).
Tensor layer_by_layer(const nn::Sequential& net, Tensor x);
std::string data_dir();  // tests/ in the source tree
// The whole file as bytes (empty when it cannot be opened).
std::string read_file(const std::string& path);
// Same shape and the same float32 bits (contiguous copies are compared).
::testing::AssertionResult bitwise_equal(const Tensor& a, const Tensor& b);
// Runs fa and fb `iterations` times each on two OS threads at once (no-grad mode in both) and
// checks every result bitwise against `ea` / `eb`: per-thread buffers and caches must not leak
// between threads.
::testing::AssertionResult two_threads_reproduce(const std::function<Tensor()>& fa, const Tensor& ea,
                                                 const std::function<Tensor()>& fb, const Tensor& eb, int iterations);

}  // namespace forge::test

// Skips a test of the bf16 paths on CPUs where oneDNN has no bf16 kernels (no AVX-512).
#define FORGE_REQUIRE_BF16()                                                                    \
  do {                                                                                          \
    if (!::forge::bf16_supported()) GTEST_SKIP() << "this CPU has no AVX-512: no bf16 kernels"; \
  } while (false)

#define EXPECT_THROW_MSG(stmt, substring)                                                             \
  do {                                                                                                \
    try {                                                                                             \
      stmt;                                                                                           \
      ADD_FAILURE() << "expected forge::Error containing '" << (substring) << "'";                    \
    } catch (const ::forge::Error& e) {                                                               \
      EXPECT_NE(std::string(e.what()).find(substring), std::string::npos) << "message: " << e.what(); \
    }                                                                                                 \
  } while (false)
