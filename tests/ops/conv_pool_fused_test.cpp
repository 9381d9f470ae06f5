// conv2d_relu_max_pool2d: the fused conv + relu + max-pool op (activation kept in oneDNN's
// blocked layout, pooled there, the backward without NCHW copies, and the small-input-channel
// weight gradient kernel it uses) against the composition max_pool2d(conv2d_relu(...)):
// values, first- and second-order gradients, finite differences, the blocked pooling kernels
// against the planar ones (ties, NaNs), and Sequential's use of
// it for Conv2D(relu) + MaxPooling2D.
#include <cmath>
#include <limits>

#include "autograd/node.h"
#include "backend/cpu/pool.h"
#include "backend/cpu/pool_blocked.h"
#include "nn/layers/conv.h"
#include "nn/layers/core.h"
#include "nn/layers/pool.h"
#include "ops/conv.h"
#include "ops/pool.h"
#include "test_util.h"

namespace forge {
namespace {

using test::all_close;
using test::grad_ok;
using test::randn_leaf;

struct Case {
  Shape x, w;
  std::array<int64_t, 2> stride{1, 1};
  Padding padding = Padding::valid();
  std::array<int64_t, 2> dilation{1, 1};
  std::array<int64_t, 2> pool{2, 2}, pool_stride{0, 0};
  bool fused = true;  // the blocked path can apply (output channels a multiple of 16)
};

std::vector<Case> cases() {
  return {
      // The seed CNN's first layer: one input channel (the small-tap weight-gradient kernel).
      {{3, 1, 12, 12}, {16, 1, 3, 3}},
      // Three channels, same padding, odd sizes (rows and columns no pooling window covers).
      {{2, 3, 11, 13}, {16, 3, 3, 3}, {1, 1}, Padding::same()},
      // Overlapping pooling windows (3x3, stride 2) after a strided convolution.
      {{2, 1, 15, 14}, {32, 1, 3, 3}, {2, 1}, Padding::same(), {1, 1}, {3, 3}, {2, 2}},
      // Dilation and a 2x3 kernel with two channels: 12 taps, the kernel's limit.
      {{2, 2, 10, 11}, {16, 2, 2, 3}, {1, 1}, Padding::valid(), {2, 1}},
      // Many input channels (oneDNN's weight gradient) and a non-square pool.
      {{2, 16, 9, 9}, {32, 16, 3, 3}, {1, 1}, Padding::valid(), {1, 1}, {2, 3}, {0, 0}},
      // 12 output channels: not a multiple of the block, the composition runs.
      {{2, 4, 8, 8}, {12, 4, 3, 3}, {1, 1}, Padding::valid(), {1, 1}, {2, 2}, {0, 0}, false},
  };
}

Tensor fused_of(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  return conv2d_relu_max_pool2d(x, w, b, c.stride, c.padding, c.dilation, 1, c.pool, c.pool_stride);
}

Tensor composed_of(const Case& c, const Tensor& x, const Tensor& w, const Tensor& b) {
  return max_pool2d(relu(conv2d(x, w, b, c.stride, c.padding, c.dilation, 1)), c.pool, c.pool_stride);
}

// `fused` and `composed` (two graphs over the same leaves) agree in value and in the leaves'
// gradients for one random output gradient.
void expect_same_values_and_gradients(const Tensor& fused, const Tensor& composed, const Tensors& leaves,
                                      uint64_t seed) {
  ASSERT_EQ(fused.shape(), composed.shape());
  EXPECT_TRUE(all_close(fused, composed));
  Tensor g = randn_leaf(fused.shape(), seed).detach();
  auto grads_of = [&](const Tensor& y) {
    for (const Tensor& t : leaves) t.zero_grad();
    y.backward(g);
    Tensors out;
    for (const Tensor& t : leaves) out.push_back(t.grad());
    return out;
  };
  Tensors want = grads_of(composed);
  Tensors got = grads_of(fused);
  for (size_t i = 0; i < leaves.size(); ++i) EXPECT_TRUE(all_close(got[i], want[i], 1e-4, 1e-4)) << "gradient " << i;
}

TEST(ConvReluMaxPool, SameValuesAndGradientsAsTheComposition) {
  uint64_t seed = 1;
  int fused_runs = 0;
  for (const Case& c : cases()) {
    SCOPED_TRACE(shape_str(c.x) + " * " + shape_str(c.w));
    Tensor x = randn_leaf(c.x, seed++), w = randn_leaf(c.w, seed++), b = randn_leaf({c.w[0]}, seed++);
    Tensor fused = fused_of(c, x, w, b);
    Tensor composed = composed_of(c, x, w, b);
    // Which layout oneDNN picks depends on the CPU (nChw8c on AVX2, nChw16c on AVX-512); the
    // fused path must run for some case, and never for a channel count it cannot block.
    const std::string& node = fused.grad_fn()->name();
    if (!c.fused) {
      EXPECT_EQ(node, "max_pool2d");
    }
    fused_runs += node == "conv2d_relu_max_pool2d" ? 1 : 0;
    expect_same_values_and_gradients(fused, composed, {x, w, b}, seed++);
  }
  EXPECT_GE(fused_runs, 1);
}

// The 1-D form (the text CNN's Conv1D(relu) + MaxPooling1D): values and gradients of the
// composition, with the windows of the seed model (kernel 7, pool 7) and a strided one.
TEST(ConvReluMaxPool, OneDimensionalFormMatchesTheComposition) {
  struct Case1d {
    Shape x, w;
    int64_t stride;
    Padding padding;
    int64_t pool, pool_stride;
  };
  uint64_t seed = 70;
  for (const Case1d& c : {Case1d{{3, 16, 60}, {32, 16, 7}, 1, Padding::valid(), 7, 0},
                          Case1d{{2, 3, 41}, {16, 3, 3}, 2, Padding::same(), 3, 2}}) {
    SCOPED_TRACE(shape_str(c.x) + " * " + shape_str(c.w));
    Tensor x = randn_leaf(c.x, seed++), w = randn_leaf(c.w, seed++), b = randn_leaf({c.w[0]}, seed++);
    Tensor fused = conv1d_relu_max_pool1d(x, w, b, c.stride, c.padding, 1, 1, c.pool, c.pool_stride);
    Tensor composed = max_pool1d(relu(conv1d(x, w, b, c.stride, c.padding)), c.pool, c.pool_stride);
    expect_same_values_and_gradients(fused, composed, {x, w, b}, seed++);
  }
  EXPECT_THROW_MSG(conv1d_relu_max_pool1d(randn_leaf({2, 3, 9, 9}, 1), randn_leaf({16, 3, 3}, 2), Tensor(), 1,
                                          Padding::valid(), 1, 1, 2),
                   "[conv1d_relu_max_pool1d] input must be 3-d");
}

TEST(ConvReluMaxPool, Gradcheck) {
  Tensor x = randn_leaf({2, 1, 7, 6}, 11), w = randn_leaf({16, 1, 3, 3}, 12), b = randn_leaf({16}, 13);
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        return conv2d_relu_max_pool2d(t[0], t[1], t[2], {1, 1}, Padding::valid(), {1, 1}, 1, {2, 2});
      },
      {x, w, b}));
  Tensor x3 = randn_leaf({1, 3, 6, 6}, 14), w3 = randn_leaf({16, 3, 3, 3}, 15), b3 = randn_leaf({16}, 16);
  EXPECT_TRUE(grad_ok(
      [](const Tensors& t) {
        return conv2d_relu_max_pool2d(t[0], t[1], t[2], {1, 1}, Padding::same(), {1, 1}, 1, {3, 3}, {2, 2});
      },
      {x3, w3, b3}));
}

// With create_graph the backward is the composed, differentiable form: second derivatives agree.
TEST(ConvReluMaxPool, SecondDerivativesMatchTheComposition) {
  const Case c = cases()[0];
  Tensor x = randn_leaf(c.x, 21), w = randn_leaf(c.w, 22), b = randn_leaf({c.w[0]}, 23);
  Tensor g = randn_leaf({3, 16, 5, 5}, 24).detach();
  auto second = [&](const Tensor& y) {
    for (const Tensor* t : {&x, &w, &b}) t->zero_grad();
    y.backward(g, false, true);
    Tensor gx = x.grad();
    w.zero_grad();
    sum(mul(gx, gx)).backward();
    return w.grad();
  };
  EXPECT_TRUE(all_close(second(fused_of(c, x, w, b)), second(composed_of(c, x, w, b)), 1e-4, 1e-4));
}

// The blocked pooling kernels against the planar ones on the same data in NCHW: values, indices
// (ties: first position; NaN: a window's first NaN wins) and the relu-masked gradient.
TEST(ConvReluMaxPool, BlockedKernelsMatchThePlanarOnes) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t block : {8, 16}) {
    for (std::array<int64_t, 2> k : {std::array<int64_t, 2>{2, 2}, std::array<int64_t, 2>{3, 2}}) {
      const int64_t n = 2, c = 32, h = 9, w = 7, plane = h * w;
      cpu::Pool2dGeometry g;
      g.planes = n * c;
      g.in_h = h;
      g.in_w = w;
      g.kernel_h = k[0];
      g.kernel_w = 2;
      g.stride_h = 2;
      g.stride_w = 2;
      g.out_h = (h - k[0]) / 2 + 1;
      g.out_w = (w - 2) / 2 + 1;
      Tensor plain = randn_leaf({n, c, h, w}, 50 + static_cast<uint64_t>(block)).detach();
      float* p = plain.data<float>();
      for (int64_t i = 0; i < plain.numel(); ++i) {
        if (i % 17 == 3) p[i] = nan;
        if (i % 5 == 1) p[i] = 0.5f;  // ties
        if (i % 7 == 2) p[i] = -std::fabs(p[i]);
      }
      std::vector<float> blocked(static_cast<size_t>(plain.numel()));
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t ch = 0; ch < c; ++ch) {
          for (int64_t s = 0; s < plane; ++s) {
            blocked[static_cast<size_t>(((i * (c / block) + ch / block) * plane + s) * block + ch % block)] =
                p[(i * c + ch) * plane + s];
          }
        }
      }
      const int64_t outs = n * c * g.out_h * g.out_w;
      std::vector<float> want(static_cast<size_t>(outs)), got(static_cast<size_t>(outs));
      std::vector<int64_t> want_idx(static_cast<size_t>(outs)), got_idx(static_cast<size_t>(outs));
      std::vector<uint8_t> where(static_cast<size_t>(outs));
      cpu::max_pool2d_forward(g, p, want.data(), want_idx.data());
      cpu::max_pool2d_blocked_forward(g, c, block, blocked.data(), got.data(), where.data());
      cpu::blocked_window_to_plane_indices(g, c, block, where.data(), got_idx.data());
      for (int64_t i = 0; i < outs; ++i) {
        ASSERT_EQ(got_idx[static_cast<size_t>(i)], want_idx[static_cast<size_t>(i)]) << block << " " << i;
        const float a = got[static_cast<size_t>(i)], b = want[static_cast<size_t>(i)];
        ASSERT_TRUE(std::isnan(a) ? std::isnan(b) : a == b) << block << " " << i;
      }
      // Backward: the planar scatter, masked where the input is not > 0, in the blocked layout.
      Tensor go = randn_leaf({n, c, g.out_h, g.out_w}, 60).detach();
      std::vector<float> scattered(static_cast<size_t>(plain.numel()));
      cpu::scatter_plane_indices(g, go.data<float>(), want_idx.data(), scattered.data());
      std::vector<float> diff(blocked.size(), 123.0f);
      cpu::max_pool2d_blocked_backward_relu(g, c, block, go.data<float>(), where.data(), diff.data());
      for (int64_t i = 0; i < n; ++i) {
        for (int64_t ch = 0; ch < c; ++ch) {
          for (int64_t s = 0; s < plane; ++s) {
            const size_t b = static_cast<size_t>(((i * (c / block) + ch / block) * plane + s) * block + ch % block);
            // The relu mask is the pooled maximum's: a window whose maximum is not > 0 passes nothing.
            const float x = p[(i * c + ch) * plane + s];
            const float expected = x > 0.0f ? scattered[static_cast<size_t>((i * c + ch) * plane + s)] : 0.0f;
            ASSERT_FLOAT_EQ(diff[b], expected) << block << " " << i << " " << ch << " " << s;
          }
        }
      }
    }
  }
}

TEST(ConvReluMaxPool, Errors) {
  Tensor w = randn_leaf({16, 1, 3, 3}, 1), b = randn_leaf({16}, 2);
  EXPECT_THROW_MSG(conv2d_relu_max_pool2d(randn_leaf({2, 1, 8}, 3), w, b, {1, 1}, Padding::valid(), {1, 1}, 1, {2, 2}),
                   "[conv2d_relu_max_pool2d] input must be 4-d");
  EXPECT_THROW_MSG(
      conv2d_relu_max_pool2d(randn_leaf({2, 1, 8, 8}, 3), w, b, {1, 1}, Padding::valid(), {1, 1}, 1, {0, 2}),
      "[conv2d_relu_max_pool2d] pool kernel (0,2)");
}

// Sequential runs Conv2D(relu) + MaxPooling2D as the fused op: same outputs and parameter
// gradients as running the layers one by one.
TEST(ConvReluMaxPool, SequentialFusesConvReluAndMaxPool) {
  auto make = [] {
    manual_seed(5);
    nn::Conv2DOptions o;
    o.activation = "relu";
    o.in_channels = 1;
    nn::DenseOptions d;
    d.input_dim = 16 * 5 * 5;
    return std::make_shared<nn::Sequential>(std::initializer_list<nn::ModulePtr>{
        std::make_shared<nn::Conv2D>(16, 3, o), std::make_shared<nn::MaxPooling2D>(), std::make_shared<nn::Flatten>(),
        std::make_shared<nn::Dense>(4, d)});
  };
  auto fused = make(), layered = make();
  Tensor x = randn_leaf({4, 1, 12, 12}, 41).detach();
  Tensor y_fused = fused->forward(x);
  Tensor y_layered = x;
  for (const auto& [name, layer] : layered->named_children()) y_layered = layer->forward(y_layered);
  EXPECT_TRUE(all_close(y_fused, y_layered));
  sum(y_fused).backward();
  sum(y_layered).backward();
  auto a = fused->named_parameters(), b = layered->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(all_close(a[i].tensor.grad(), b[i].tensor.grad(), 1e-4, 1e-5));
}

}  // namespace
}  // namespace forge
