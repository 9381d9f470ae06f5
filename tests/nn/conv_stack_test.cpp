// The conv-stack inference fast path (nn/conv_stack.h) and its kernels (direct and Winograd
// convolutions, channels-last max-pool): equal to the ordinary per-layer path within rounding,
// sees weight updates, falls back where it does not apply, same results on 1 and 2 threads.
#include "nn/conv_stack.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/conv_direct.h"
#include "backend/cpu/winograd.h"
#include "core/parallel.h"
#include "nn/nn.h"
#include "ops/precision.h"
#include "optim/optimizers.h"
#include "test_util.h"

namespace forge::nn {
namespace {

using test::grad_ok;
using test::randn_leaf;

// Sums run in another order (and Winograd transforms its operands): allow 1e-4 of the
// output's scale, far below any real error (a wrong tap or channel is off by ~0.1 or more).
::testing::AssertionResult close(const Tensor& fast, const Tensor& expected) {
  if (fast.shape() != expected.shape())
    return ::testing::AssertionFailure() << shape_str(fast.shape()) << " vs " << shape_str(expected.shape());
  const Tensor a = fast.contiguous(), b = expected.contiguous();
  double scale = 1.0, worst = 0.0;
  for (int64_t i = 0; i < b.numel(); ++i) scale = std::max(scale, std::fabs(static_cast<double>(b.data<float>()[i])));
  for (int64_t i = 0; i < b.numel(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
  if (worst <= 1e-4 * scale) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "max difference " << worst << " (scale " << scale << ")";
}

using test::bitwise_equal;

ModulePtr conv(int64_t filters, std::array<int64_t, 2> kernel, int64_t in_channels, const std::string& activation,
               const std::string& padding = "valid", bool bias = true) {
  Conv2DOptions o;
  o.activation = activation;
  o.in_channels = in_channels;
  o.padding = padding;
  o.use_bias = bias;
  o.bias_initializer = init::Initializer::constant(0.05);
  return std::make_shared<Conv2D>(filters, kernel, o);
}

ModulePtr dense(int64_t units, int64_t in, const std::string& activation) {
  DenseOptions o;
  o.activation = activation;
  o.input_dim = in;
  return std::make_shared<Dense>(units, o);
}

ModulePtr max_pool(std::array<int64_t, 2> size = {2, 2}, std::array<int64_t, 2> strides = {0, 0}) {
  Pool2DOptions o;
  o.strides = strides;
  return std::make_shared<MaxPooling2D>(size, o);
}

// The seed CNN of `forge quickstart` / forge_bench cnn_latency.
std::shared_ptr<Sequential> seed_cnn() {
  return std::make_shared<Sequential>(std::initializer_list<ModulePtr>{
      conv(32, {3, 3}, 1, "relu"), max_pool(), conv(64, {3, 3}, 32, "relu"), max_pool(), conv(64, {3, 3}, 64, "relu"),
      std::make_shared<Flatten>(), dense(64, 64 * 3 * 3, "relu"), dense(10, 64, "linear")});
}

// Checks fast == ordinary on batches 1..kConvStackMaxBatch of [c, h, w] images.
void expect_matches(Sequential& net, int64_t c, int64_t h, int64_t w, const std::string& what) {
  for (int64_t n = 1; n <= kConvStackMaxBatch; ++n) {
    const Tensor x = randn({n, c, h, w});
    NoGradGuard no_grad;
    const Tensor expected = test::layer_by_layer(net, x);
    const Tensor fast = conv_stack_forward(net, x);
    ASSERT_TRUE(fast.defined()) << what << " batch " << n;
    EXPECT_TRUE(close(fast, expected)) << what << " batch " << n;
    EXPECT_TRUE(bitwise_equal(net(x), fast)) << what;  // Sequential::forward takes the fast path
  }
}

TEST(ConvStack, SeedCnnEqualsTheOrdinaryPath) {
  manual_seed(21);
  auto net = seed_cnn();
  expect_matches(*net, 1, 28, 28, "seed cnn");
}

TEST(ConvStack, EqualsTheOrdinaryPathAcrossShapes) {
  manual_seed(22);
  struct Case {
    const char* what;
    std::vector<ModulePtr> layers;
    int64_t c, h, w;
  };
  const std::vector<Case> cases = {
      // Winograd (3x3, 8+ input channels) on odd and even sizes, "same" and "valid".
      {"winograd odd", {conv(16, {3, 3}, 3, "relu"), conv(20, {3, 3}, 16, "linear")}, 3, 13, 11},
      {"winograd even same", {conv(8, {3, 3}, 2, "linear", "same"), conv(70, {3, 3}, 8, "relu", "same")}, 2, 10, 12},
      {"winograd no bias", {conv(12, {3, 3}, 1, "relu"), conv(17, {3, 3}, 12, "relu", "valid", false)}, 1, 9, 16},
      // Direct convolutions: other kernel sizes, channel counts past 64, masked channel tails.
      {"5x5 same", {conv(5, {5, 5}, 3, "relu", "same"), conv(33, {2, 3}, 5, "linear", "same")}, 3, 7, 9},
      {"1x1 and wide", {conv(80, {1, 1}, 4, "relu"), conv(3, {3, 1}, 80, "relu")}, 4, 5, 6},
      {"pools",
       {conv(16, {3, 3}, 1, "relu"), max_pool({3, 3}, {2, 2}), conv(9, {2, 2}, 16, "relu"), max_pool({1, 2})},
       1,
       15,
       14},
      {"flatten only", {conv(4, {3, 3}, 2, "relu"), max_pool(), std::make_shared<Flatten>()}, 2, 8, 8},
      {"dense softmax",
       {conv(6, {3, 3}, 1, "linear", "same"), std::make_shared<Flatten>(), dense(7, 6 * 6 * 5, "linear"),
        dense(4, 7, "softmax")},
       1,
       6,
       5},
  };
  for (const Case& c : cases) {
    Sequential net;
    for (const ModulePtr& layer : c.layers) net.add(layer);
    expect_matches(net, c.c, c.h, c.w, c.what);
  }
}

// The three kernels against a double-precision naive convolution (+ bias, relu), including
// channel tails and row counts the layers above may miss.
TEST(ConvStack, DirectAndWinogradKernelsEqualNaiveConvolution) {
  manual_seed(23);
  for (const auto& [in_c, out_c, h, w] : std::vector<std::array<int64_t, 4>>{
           {1, 1, 3, 3},
           {8, 16, 4, 4},
           {9, 31, 7, 5},
           {32, 64, 13, 13},
           {17, 65, 6, 9},
           {64, 130, 5, 5},
           // Winograd tile counts 1, 2, 3, 4, 7, 8, 10: every row-count case of the GEMM's tiling.
           {8, 16, 6, 6},
           {8, 20, 10, 6},
           {16, 24, 14, 6},
           {8, 40, 10, 10},
           {8, 16, 30, 6},
           {8, 12, 18, 10},
           {8, 16, 42, 6}}) {
    const Tensor x = randn({h, w, in_c});  // channels-last
    const Tensor wt = randn({out_c, in_c, 3, 3});
    const Tensor bias = randn({out_c});
    cpu::ConvNhwcGeometry g;
    g.in_h = h;
    g.in_w = w;
    g.in_c = in_c;
    g.kernel_h = g.kernel_w = 3;
    g.out_c = out_c;
    const int64_t oh = h - 2, ow = w - 2;
    std::vector<float> expected(static_cast<size_t>(oh * ow * out_c));
    const float* xp = x.data<float>();
    const float* wp = wt.data<float>();
    double scale = 1.0;
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t xx = 0; xx < ow; ++xx)
        for (int64_t o = 0; o < out_c; ++o) {
          double s = bias.data<float>()[o];
          for (int64_t ci = 0; ci < in_c; ++ci)
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j)
                s +=
                    static_cast<double>(xp[((y + i) * w + xx + j) * in_c + ci]) * wp[((o * in_c + ci) * 3 + i) * 3 + j];
          expected[static_cast<size_t>((y * ow + xx) * out_c + o)] = static_cast<float>(std::max(s, 0.0));
          scale = std::max(scale, std::fabs(s));
        }
    std::vector<float> packed(static_cast<size_t>(9 * in_c * cpu::conv_packed_ld(out_c)));
    cpu::pack_conv_weight(wp, out_c, in_c, 3, 3, packed.data());
    std::vector<float> wino(static_cast<size_t>(cpu::winograd_packed_size(out_c, in_c)));
    cpu::winograd_pack_weight(wp, out_c, in_c, wino.data());
    for (const bool portable : {false, true}) {  // the SIMD kernels of this CPU, then the portable ones
      cpu::use_portable_conv_kernels(portable);
      std::vector<float> direct(expected.size(), -1.0f), winograd(expected.size(), -1.0f), dot(expected.size(), -1.0f);
      cpu::conv2d_nhwc_direct(g, xp, packed.data(), bias.data<float>(), true, direct.data());
      cpu::conv2d_nhwc_winograd3x3(g, xp, wino.data(), bias.data<float>(), true, winograd.data());
      cpu::conv2d_nhwc_dot(g, xp, wp, bias.data<float>(), true, dot.data());
      cpu::use_portable_conv_kernels(false);
      for (size_t i = 0; i < expected.size(); ++i) {
        ASSERT_NEAR(direct[i], expected[i], 1e-5 * scale) << in_c << "->" << out_c << " at " << i << " " << portable;
        ASSERT_NEAR(winograd[i], expected[i], 1e-5 * scale) << in_c << "->" << out_c << " at " << i << " " << portable;
        ASSERT_NEAR(dot[i], expected[i], 1e-5 * scale) << in_c << "->" << out_c << " at " << i << " " << portable;
      }
    }
  }
}

TEST(ConvStack, WeightUpdatesShowInTheNextPredict) {
  manual_seed(24);
  auto net = seed_cnn();
  const Tensor x = randn({1, 1, 28, 28});
  Tensor before;
  {
    NoGradGuard no_grad;
    before = (*net)(x);
  }
  SGDOptions o;
  o.lr = 0.1;
  SGD sgd(net->named_parameters(), o);
  sgd.zero_grad();
  sum((*net)(randn({2, 1, 28, 28}))).backward();
  sgd.step();
  NoGradGuard no_grad;
  const Tensor after = (*net)(x);
  EXPECT_FALSE(close(after, before));
  EXPECT_TRUE(close(after, test::layer_by_layer(*net, x)));
  auto other = seed_cnn();  // load_state copies into the same tensors
  net->load_state(other->state());
  EXPECT_TRUE(close((*net)(x), test::layer_by_layer(*other, x)));
  // An in-place write to one weight value (the cache compares every value).
  auto& conv2 = static_cast<Conv2D&>(*net->at(2));
  conv2.weight().data<float>()[5] += 1.0f;
  EXPECT_TRUE(close((*net)(x), test::layer_by_layer(*net, x)));
}

TEST(ConvStack, OneAndTwoThreadsGiveTheSameResult) {
  manual_seed(25);
  auto net = seed_cnn();
  const Tensor x = randn({3, 1, 28, 28});
  NoGradGuard no_grad;
  const int saved = num_threads();
  set_num_threads(1);
  const Tensor one = (*net)(x);
  set_num_threads(2);
  const Tensor two = (*net)(x);
  set_num_threads(saved);
  EXPECT_TRUE(bitwise_equal(one, two));
}

TEST(ConvStack, FallsBackWhereItDoesNotApply) {
  manual_seed(26);
  auto net = seed_cnn();
  const Tensor x = randn({1, 1, 28, 28});
  EXPECT_FALSE(conv_stack_forward(*net, x).defined());  // grad mode on
  NoGradGuard no_grad;
  ASSERT_TRUE(conv_stack_forward(*net, x).defined());
  EXPECT_FALSE(conv_stack_forward(*net, randn({kConvStackMaxBatch + 1, 1, 28, 28})).defined());
  EXPECT_FALSE(conv_stack_forward(*net, x.to(DType::kF64)).defined());
  EXPECT_FALSE(conv_stack_forward(*net, randn({1, 1, 28, 56}).slice(3, 0, 28)).defined());  // not contiguous
  EXPECT_FALSE(conv_stack_forward(*net, randn({1, 2, 28, 28})).defined());                  // channels
  EXPECT_FALSE(conv_stack_forward(*net, randn({1, 1, 20, 20})).defined());                  // Dense features differ
  EXPECT_FALSE(conv_stack_forward(*net, randn({1, 784})).defined());
  if (bf16_supported()) {
    PrecisionGuard bf16(Precision::kBF16);
    EXPECT_FALSE(conv_stack_forward(*net, x).defined());
  }
  EXPECT_FALSE(conv_stack_forward(Sequential(), x).defined());
  const auto one_layer = [&](ModulePtr layer) { return Sequential{std::move(layer)}; };
  Conv2DOptions strided;
  strided.in_channels = 1;
  strided.strides = {2, 2};
  EXPECT_FALSE(conv_stack_forward(one_layer(std::make_shared<Conv2D>(4, 3, strided)), x).defined());
  EXPECT_FALSE(conv_stack_forward(one_layer(conv(4, {3, 3}, 1, "tanh")), x).defined());
  EXPECT_FALSE(conv_stack_forward(one_layer(max_pool()), x).defined());  // must start with a conv
  Sequential avg{conv(4, {3, 3}, 1, "relu"), std::make_shared<AveragePooling2D>()};
  EXPECT_FALSE(conv_stack_forward(avg, x).defined());
  Sequential dense_first_flat{conv(4, {3, 3}, 1, "relu"), dense(3, 26, "relu")};  // Dense before Flatten
  EXPECT_FALSE(conv_stack_forward(dense_first_flat, x).defined());
  Sequential big{conv(64, {3, 3}, 64, "relu")};  // 62*62*64*64*9 = 141M multiply-adds: oneDNN's
  EXPECT_FALSE(conv_stack_forward(big, randn({1, 64, 64, 64})).defined());
  Sequential lazy{std::make_shared<Conv2D>(4, 3)};
  EXPECT_FALSE(conv_stack_forward(lazy, x).defined());  // not built yet: the ordinary path builds it
  EXPECT_EQ(lazy(x).shape(), (Shape{1, 4, 26, 26}));
  EXPECT_TRUE(conv_stack_forward(lazy, x).defined());
  // The ordinary path reports shape errors.
  EXPECT_THROW_MSG((*net)(randn({1, 2, 28, 28})), "[Conv2D] input has 2 channels");
}

TEST(ConvStack, GradientsStillFlowThroughSequential) {
  manual_seed(27);
  Sequential net{conv(2, {3, 3}, 1, "relu"), max_pool(), std::make_shared<Flatten>(), dense(3, 2 * 2 * 2, "linear")};
  EXPECT_TRUE(grad_ok([&](const Tensors& in) { return net(in[0]); }, {randn_leaf({1, 1, 6, 6}, 3)}));
}

TEST(ConvStack, ThreadsUseTheirOwnBuffersAndCaches) {
  manual_seed(28);
  auto a = seed_cnn();
  Sequential b{conv(12, {3, 3}, 3, "relu", "same"), max_pool(), conv(20, {3, 3}, 12, "relu"),
               std::make_shared<Flatten>(), dense(5, 20 * 3 * 3, "softmax")};
  const Tensor xa = randn({2, 1, 28, 28}), xb = randn({1, 3, 10, 10});
  Tensor ea, eb;
  {
    NoGradGuard no_grad;
    ea = (*a)(xa);
    eb = b(xb);
  }
  EXPECT_TRUE(test::two_threads_reproduce([&] { return (*a)(xa); }, ea, [&] { return b(xb); }, eb, 100));
}

}  // namespace
}  // namespace forge::nn
