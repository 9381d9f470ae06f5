// Gradient checks and error messages for ops/attention (PyTorch parity: tests/golden/rnn_test.cpp).
#include "ops/attention.h"

#include <cmath>
#include <limits>

#include "test_util.h"

namespace forge {
namespace {

using test::grad_ok;

// softmax(q k^T * scale + mask) v with public ops only: the reference for the fused path.
Tensor reference_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, double scale) {
  Tensor s = mul(matmul(q, k.transpose(-2, -1)), scale);
  if (mask.defined()) s = add(s, mask);
  return matmul(exp(sub(s, logsumexp(s, {-1}, true))), v);
}

// Additive [tq, tk] causal mask aligned to the end of the keys.
Tensor end_aligned_causal(int64_t tq, int64_t tk) {
  std::vector<float> m(static_cast<size_t>(tq * tk), 0.0f);
  for (int64_t i = 0; i < tq; ++i) {
    for (int64_t j = i + tk - tq + 1; j < tk; ++j) m[static_cast<size_t>(i * tk + j)] = -INFINITY;
  }
  return from_vector(m, {tq, tk});
}

TEST(Attention, SdpaGradcheck) {
  Tensors in{test::randn_leaf({2, 2, 3, 4}, 1), test::randn_leaf({2, 2, 5, 4}, 2), test::randn_leaf({2, 2, 5, 3}, 3)};
  EXPECT_TRUE(grad_ok([](const Tensors& t) { return scaled_dot_product_attention(t[0], t[1], t[2]); }, in));
}

TEST(Attention, SdpaCausalGradcheck) {
  Tensors in{test::randn_leaf({1, 2, 3, 4}, 11), test::randn_leaf({1, 2, 5, 4}, 12),
             test::randn_leaf({1, 2, 5, 4}, 13)};
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) { return scaled_dot_product_attention(t[0], t[1], t[2], Tensor(), true, 0.3); }, in));
}

TEST(Attention, SdpaMaskGradcheck) {
  // A [B, 1, Tq, Tk] mask broadcast over heads, with one dropped key per query.
  std::vector<float> m(2 * 3 * 4, 0.0f);
  for (int i = 0; i < 6; ++i) m[static_cast<size_t>(i * 4 + i % 4)] = -INFINITY;
  Tensor mask = from_vector(m, {2, 1, 3, 4});
  Tensors in{test::randn_leaf({2, 2, 3, 4}, 21), test::randn_leaf({2, 2, 4, 4}, 22),
             test::randn_leaf({2, 2, 4, 4}, 23)};
  EXPECT_TRUE(grad_ok([mask](const Tensors& t) { return scaled_dot_product_attention(t[0], t[1], t[2], mask); }, in));
}

TEST(Attention, SdpaMatchesComposedReference) {
  Tensor q = test::randn_leaf({2, 3, 4, 8}, 31), k = test::randn_leaf({2, 3, 6, 8}, 32),
         v = test::randn_leaf({2, 3, 6, 5}, 33);
  const double scale = 1.0 / std::sqrt(8.0);
  EXPECT_TRUE(test::all_close(scaled_dot_product_attention(q, k, v), reference_attention(q, k, v, Tensor(), scale),
                              1e-5, 1e-6));
  EXPECT_TRUE(test::all_close(scaled_dot_product_attention(q, k, v, Tensor(), true),
                              reference_attention(q, k, v, end_aligned_causal(4, 6), scale), 1e-5, 1e-6));
}

TEST(Attention, SdpaSecondOrderGradcheck) {
  // create_graph through the fused softmax: finite differences of the first-order gradient
  // dL/dq must match the Hessian-vector products that backward-of-backward produces (the
  // softmax backward recomputes its probabilities with public ops for exactly this).
  Tensor k = test::randn_leaf({1, 2, 4, 4}, 42).detach(), v = test::randn_leaf({1, 2, 4, 4}, 43).detach();
  Tensor w = test::randn_leaf({1, 2, 3, 4}, 44).detach();
  Tensor mask = from_vector(std::vector<float>{0.0f, -1.0f, 0.5f, 0.0f}, {4});
  for (bool causal : {false, true}) {
    auto grad_q = [&](const Tensors& t) {
      EnableGradGuard with_grad;  // gradcheck evaluates f under no-grad
      t[0].zero_grad();           // and leaves its own analytic gradient in .grad
      sum(mul(scaled_dot_product_attention(t[0], k, v, mask, causal), w)).backward(Tensor(), true, true);
      Tensor g = t[0].grad();
      t[0].zero_grad();
      return g;
    };
    EXPECT_TRUE(grad_ok(grad_q, {test::randn_leaf({1, 2, 3, 4}, 41)})) << "causal=" << causal;
  }
}

TEST(Attention, MultiHeadGradcheck) {
  const int64_t e = 4;
  // query, key, value, then q/k/v/out weight and bias
  Tensors in{test::randn_leaf({2, 3, e}, 51),   test::randn_leaf({2, 5, e}, 52),   test::randn_leaf({2, 5, e}, 53),
             test::randn_leaf({e, e}, 54, 0.5), test::randn_leaf({e}, 55, 0.5),    test::randn_leaf({e, e}, 56, 0.5),
             test::randn_leaf({e}, 57, 0.5),    test::randn_leaf({e, e}, 58, 0.5), test::randn_leaf({e}, 59, 0.5),
             test::randn_leaf({e, e}, 60, 0.5), test::randn_leaf({e}, 61, 0.5)};
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        MultiHeadWeights w{t[3], t[4], t[5], t[6], t[7], t[8], t[9], t[10]};
        return multi_head_attention(t[0], t[1], t[2], w, 2, Tensor(), true);
      },
      in));
}

TEST(Attention, Errors) {
  Tensor q = zeros({2, 4, 3, 8}), k = zeros({2, 4, 5, 8}), v = zeros({2, 4, 5, 8});
  EXPECT_THROW_MSG(scaled_dot_product_attention(zeros({4, 3, 8}), k, v),
                   "[scaled_dot_product_attention] q must be 4-d");
  EXPECT_THROW_MSG(scaled_dot_product_attention(q, zeros({2, 4, 5, 7}), v),
                   "k must be [batch, heads, keys, head_dim] = (2,4,keys,8)");
  EXPECT_THROW_MSG(scaled_dot_product_attention(q, k, zeros({2, 4, 6, 8})), "v must be [batch, heads, keys, dim]");
  EXPECT_THROW_MSG(scaled_dot_product_attention(q, k, v, zeros({4, 5})),
                   "mask of shape (4,5) is not broadcastable to [batch, heads, queries, keys] = (2,4,3,5)");
  EXPECT_THROW_MSG(scaled_dot_product_attention(q, k, v, zeros({3, 5}, DType::kU8)),
                   "mask must be an additive float mask");
  EXPECT_THROW_MSG(scaled_dot_product_attention(k, q, q, Tensor(), true), "needs queries <= keys, got 5 > 3");
  EXPECT_THROW_MSG(scaled_dot_product_attention(q, k, v, Tensor(), false, std::nan("")), "scale must be finite");

  const int64_t e = 6;
  MultiHeadWeights w{zeros({e, e}), zeros({e}), zeros({e, e}), zeros({e}),
                     zeros({e, e}), zeros({e}), zeros({e, e}), zeros({e})};
  Tensor x = zeros({2, 3, e});
  EXPECT_THROW_MSG(multi_head_attention(x, x, x, w, 4),
                   "[multi_head_attention] embed dim 6 is not divisible by num_heads 4");
  EXPECT_THROW_MSG(multi_head_attention(x, x, x, w, 0), "num_heads must be positive");
  EXPECT_THROW_MSG(multi_head_attention(zeros({3, e}), x, x, w, 2), "query must be 3-d [batch, queries, embed]");
  EXPECT_THROW_MSG(multi_head_attention(x, zeros({2, 4, 5}), x, w, 2), "key must be [batch, keys, embed] = (2,keys,6)");
  EXPECT_THROW_MSG(multi_head_attention(x, x, zeros({2, 4, e}), w, 2), "value must have the shape of key (2,3,6)");
  MultiHeadWeights bad = w;
  bad.k_weight = zeros({e, 4});
  EXPECT_THROW_MSG(multi_head_attention(x, x, x, bad, 2), "k_weight must be [embed, embed] = (6,6), got (6,4)");
  bad = w;
  bad.out_bias = zeros({4});
  EXPECT_THROW_MSG(multi_head_attention(x, x, x, bad, 2), "out_bias must be [embed] = (6,), got (4,)");
  EXPECT_THROW_MSG(multi_head_attention(x, x, x, w, 2, zeros({2, 3, 3, 3})), "mask of shape (2,3,3,3)");
}

}  // namespace
}  // namespace forge
