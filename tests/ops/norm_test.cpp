// ops/norm: gradient checks for every input, running-stat updates, second derivatives, errors.
#include "ops/norm.h"
#include "test_util.h"

namespace forge {
namespace {

using test::all_close;
using test::grad_ok;
using test::randn_leaf;

TEST(LayerNorm, Gradcheck) {
  Tensor x = randn_leaf({3, 2, 5}, 1), w = randn_leaf({5}, 2), b = randn_leaf({5}, 3);
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return layer_norm(in[0], {5}, in[1], in[2]); }, {x, w, b}));
  Tensor w2 = randn_leaf({2, 5}, 4);
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return layer_norm(in[0], {2, 5}, in[1]); }, {x, w2}));
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return layer_norm(in[0], {3, 2, 5}); }, {x}));
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return layer_norm(in[0].transpose(0, 2), {3}); }, {x}));
}

TEST(LayerNorm, NormalizesRows) {
  Tensor x = add(mul(randn_leaf({4, 64}, 5).detach(), 3.0), 100.0);
  Tensor y = layer_norm(x, {64});
  EXPECT_TRUE(all_close(mean(y, {1}), zeros({4}), 0, 1e-5));
  EXPECT_TRUE(all_close(var(y, {1}, false, 0), ones({4}), 1e-3, 1e-3));
}

TEST(RmsNorm, Gradcheck) {
  Tensor x = randn_leaf({3, 2, 5}, 6), w = randn_leaf({5}, 7);
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return rms_norm(in[0], {5}, in[1]); }, {x, w}));
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return rms_norm(in[0], {2, 5}); }, {x}));
}

TEST(RmsNorm, MatchesFormula) {
  Tensor x = randn_leaf({3, 8}, 8).detach(), w = randn_leaf({8}, 9).detach();
  Tensor ref = mul(mul(x, rsqrt(add(mean(square(x), {1}, true), 1e-6))), w);
  EXPECT_TRUE(all_close(rms_norm(x, {8}, w), ref, 1e-5, 1e-6));
}

TEST(BatchNorm, GradcheckTrainAndEval) {
  Tensor x = randn_leaf({4, 3, 2, 2}, 10), w = randn_leaf({3}, 11), b = randn_leaf({3}, 12);
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return batch_norm(in[0], Tensor(), Tensor(), in[1], in[2], true); },
                      {x, w, b}));
  Tensor rm = from_vector({0.1f, -0.2f, 0.3f}, {3}), rv = from_vector({0.5f, 1.5f, 2.0f}, {3});
  EXPECT_TRUE(grad_ok([rm, rv](const Tensors& in) { return batch_norm(in[0], rm, rv, in[1], in[2], false); },
                      {x, w, b}));
  Tensor x2 = randn_leaf({5, 3}, 13);
  EXPECT_TRUE(grad_ok([](const Tensors& in) { return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
                      {x2}));
}

TEST(BatchNorm, RunningStatsUpdateLikePyTorch) {
  Tensor x = randn_leaf({4, 3, 5}, 14).detach();
  Tensor rm = from_vector({0.5f, -1.f, 2.f}, {3}), rv = from_vector({1.f, 2.f, 0.5f}, {3});
  const Tensor rm0 = rm.clone(), rv0 = rv.clone();
  Tensor y = batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.2, 1e-5);
  Tensor batch_mean = mean(x, {0, 2});
  Tensor batch_var_unbiased = var(x, {0, 2}, false, 1);
  EXPECT_TRUE(all_close(rm, add(mul(rm0, 0.8), mul(batch_mean, 0.2)), 1e-6, 1e-7));
  EXPECT_TRUE(all_close(rv, add(mul(rv0, 0.8), mul(batch_var_unbiased, 0.2)), 1e-6, 1e-7));
  // The output is normalized with the biased batch variance.
  Tensor ref = div(sub(x, mean(x, {0, 2}, true)), sqrt(add(var(x, {0, 2}, true, 0), 1e-5)));
  EXPECT_TRUE(all_close(y, ref, 1e-5, 1e-5));
  // Eval mode uses (and leaves alone) the running stats.
  const Tensor rm1 = rm.clone();
  Tensor ye = batch_norm(x, rm, rv, Tensor(), Tensor(), false);
  EXPECT_TRUE(all_close(rm, rm1, 0, 0));
  Tensor ref_eval = div(sub(x, rm.reshape({1, 3, 1})), sqrt(add(rv.reshape({1, 3, 1}), 1e-5)));
  EXPECT_TRUE(all_close(ye, ref_eval, 1e-5, 1e-6));
}

// d/dx of (d/dx sum(norm(x) * v)) . u against finite differences of the first gradient:
// the recomputed statistics under create_graph keep second derivatives exact.
TEST(Norm, SecondDerivativesMatchFiniteDifferences) {
  const std::vector<std::function<Tensor(const Tensor&)>> fns = {
      [](const Tensor& x) { return layer_norm(x, {4}); },
      [](const Tensor& x) { return rms_norm(x, {4}); },
      [](const Tensor& x) { return batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true); },
  };
  for (size_t k = 0; k < fns.size(); ++k) {
    Tensor x0 = randn_leaf({3, 4}, 20).detach();
    Tensor v = randn_leaf({3, 4}, 21).detach();
    Tensor u = randn_leaf({3, 4}, 22).detach();
    auto first_grad_dot_u = [&](const Tensor& x_value, bool create_graph) {
      Tensor x = x_value.clone().detach();
      x.set_requires_grad(true);
      sum(mul(fns[k](x), v)).backward(Tensor(), false, create_graph);
      return std::pair{x, sum(mul(x.grad(), u))};
    };
    auto [x, gu] = first_grad_dot_u(x0, true);
    x.zero_grad();
    gu.backward();
    const Tensor analytic = x.grad();
    // Central difference of gu along each coordinate.
    const double eps = 1e-2;
    std::vector<float> base = x0.to_vector<float>();
    std::vector<float> numeric(base.size());
    for (size_t i = 0; i < base.size(); ++i) {
      std::vector<float> plus = base, minus = base;
      plus[i] += static_cast<float>(eps);
      minus[i] -= static_cast<float>(eps);
      const double fp = first_grad_dot_u(from_vector(plus, {3, 4}), false).second.item();
      const double fm = first_grad_dot_u(from_vector(minus, {3, 4}), false).second.item();
      numeric[i] = static_cast<float>((fp - fm) / (2 * eps));
    }
    EXPECT_TRUE(all_close(analytic, from_vector(numeric, {3, 4}), 5e-2, 5e-2)) << "fn " << k;
  }
}

TEST(Norm, Errors) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_THROW_MSG(layer_norm(x, {3}),
                   "[layer_norm] normalized_shape (3,) does not match the trailing axes of input (2,3,4)");
  EXPECT_THROW_MSG(layer_norm(x, {4}, zeros({3})), "[layer_norm] weight has shape (3,), expected (4,)");
  EXPECT_THROW_MSG(layer_norm(x, {4}, Tensor(), zeros({4, 1})), "[layer_norm] bias has shape (4,1), expected (4,)");
  EXPECT_THROW_MSG(layer_norm(x, {}), "[layer_norm] normalized_shape must not be empty");
  EXPECT_THROW_MSG(rms_norm(x, {5}), "[rms_norm] normalized_shape (5,) does not match");
  EXPECT_THROW_MSG(rms_norm(x, {4}, zeros({5})), "[rms_norm] weight has shape (5,), expected (4,)");
  EXPECT_THROW_MSG(batch_norm(zeros({4}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                   "[batch_norm] input must be at least 2-d (N, C, ...), got shape (4,)");
  EXPECT_THROW_MSG(batch_norm(x, zeros({2}), ones({3}), Tensor(), Tensor(), true),
                   "[batch_norm] running_mean has shape (2,), expected (3,)");
  EXPECT_THROW_MSG(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false),
                   "[batch_norm] running_mean is required in eval mode");
  EXPECT_THROW_MSG(batch_norm(x, Tensor(), Tensor(), ones({4}), Tensor(), true),
                   "[batch_norm] weight has shape (4,), expected (3,)");
  EXPECT_THROW_MSG(batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                   "[batch_norm] training needs more than 1 value per channel");
}

}  // namespace
}  // namespace forge
