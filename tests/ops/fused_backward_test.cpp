// The fused single-pass backward kernels (GELU, attention softmax) used when backward runs
// without building a graph must equal the composed public-op rules used under create_graph.
#include "ops/attention.h"
#include "ops/elementwise.h"
#include "ops/norm.h"
#include "ops/reduce.h"
#include "test_util.h"

namespace forge {
namespace {

// Gradient of sum(f(x) * w) with respect to x, fused (plain backward) or composed (create_graph).
template <class F>
Tensor grad_of(F f, const Tensor& x0, const Tensor& w, bool create_graph) {
  Tensor x = x0.detach().clone().set_requires_grad();
  sum(mul(f(x), w)).backward(Tensor(), false, create_graph);
  Tensor g = x.grad().detach();
  x.zero_grad();  // under create_graph the gradient's graph refers back to x: a cycle LeakSanitizer reports
  return g;
}

TEST(FusedBackward, GeluMatchesComposedRule) {
  Tensor x = randn({3, 50, 37}, 0.0, 2.5);
  Tensor w = randn({3, 50, 37});
  auto f = [](const Tensor& t) { return gelu(t); };
  Tensor fused = grad_of(f, x, w, false), composed = grad_of(f, x, w, true);
  EXPECT_TRUE(test::all_close(fused, composed, 1e-5, 1e-6));
  // far tails: phi underflows to 0 and Phi saturates at 0 / 1
  Tensor tails = from_vector<float>({-40.0f, -9.0f, 0.0f, 9.0f, 40.0f}, {5});
  Tensor ones5 = ones({5});
  EXPECT_TRUE(test::all_close(grad_of(f, tails, ones5, false), grad_of(f, tails, ones5, true), 1e-6, 1e-7));
}

TEST(FusedBackward, AttentionSoftmaxMatchesComposedRule) {
  Tensor q = randn({2, 3, 9, 8}), k = randn({2, 3, 11, 8}), v = randn({2, 3, 11, 8});
  Tensor w = randn({2, 3, 9, 8});
  for (bool causal : {false, true}) {
    auto f = [&](const Tensor& t) { return scaled_dot_product_attention(t, k, v, Tensor(), causal); };
    Tensor fused = grad_of(f, q, w, false), composed = grad_of(f, q, w, true);
    EXPECT_TRUE(test::all_close(fused, composed, 1e-4, 1e-6)) << "causal " << causal;
  }
}

TEST(FusedBackward, LayerNormMatchesComposedRule) {
  Tensor x = randn({4, 7, 24}, 0.5, 2.0), w = randn({4, 7, 24});
  for (bool affine : {true, false}) {
    Tensor gamma = affine ? randn({24}).set_requires_grad() : Tensor();
    Tensor beta = affine ? randn({24}).set_requires_grad() : Tensor();
    auto run = [&](bool create_graph) {
      Tensor xl = x.detach().clone().set_requires_grad();
      if (affine) {
        gamma.zero_grad();
        beta.zero_grad();
      }
      sum(mul(layer_norm(xl, {24}, gamma, beta), w)).backward(Tensor(), false, create_graph);
      Tensors g{xl.grad().detach(), affine ? gamma.grad().detach() : Tensor(),
                affine ? beta.grad().detach() : Tensor()};
      xl.zero_grad();  // drop graph-carrying gradients (create_graph): they form cycles with their inputs
      if (affine) {
        gamma.zero_grad();
        beta.zero_grad();
      }
      return g;
    };
    const Tensors fused = run(false), composed = run(true);
    for (size_t i = 0; i < (affine ? 3u : 1u); ++i) {
      EXPECT_TRUE(test::all_close(fused[i], composed[i], 1e-4, 1e-5)) << "affine " << affine << " grad " << i;
    }
  }
}

TEST(FusedBackward, GradientsMatchFiniteDifferences) {
  EXPECT_TRUE(test::grad_ok(
      [](const Tensors& in) { return layer_norm(in[0], {6}, in[1], in[2]); },
      {test::randn_leaf({3, 6}, 5), test::randn_leaf({6}, 6), test::randn_leaf({6}, 7)}));
  EXPECT_TRUE(test::grad_ok([](const Tensors& in) { return gelu(in[0]); }, {test::randn_leaf({4, 6}, 3)}));
  Tensor k = randn({1, 2, 5, 4}), v = randn({1, 2, 5, 4});
  EXPECT_TRUE(test::grad_ok(
      [&](const Tensors& in) { return scaled_dot_product_attention(in[0], k, v, Tensor(), true); },
      {test::randn_leaf({1, 2, 5, 4}, 4)}));
}

}  // namespace
}  // namespace forge
