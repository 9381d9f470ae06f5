#include "nn/conv_stack.h"

#include <algorithm>
#include <cstring>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include "autograd/grad_mode.h"
#include "backend/cpu/conv_direct.h"
#include "backend/cpu/gemv.h"
#include "backend/cpu/pool.h"
#include "backend/cpu/winograd.h"
#include "nn/activation.h"
#include "nn/layers/conv.h"
#include "nn/layers/core.h"
#include "nn/layers/pool.h"
#include "nn/module.h"
#include "ops/precision.h"

namespace forge::nn {

namespace {

constexpr size_t kMaxLayers = 64;

bool is_f32_contiguous(const Tensor& t) { return t.dtype() == DType::kF32 && t.is_contiguous(); }

// One layer of the plan with the shapes it sees (channels-last until Flatten).
struct Step {
  enum class Kind { kConv, kPool, kFlatten, kDense } kind = Kind::kConv;
  const Module* layer = nullptr;
  int64_t in_c = 0, in_h = 0, in_w = 0;  // conv / pool input; features for Dense
  int64_t out_c = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 0, kernel_w = 0, stride_h = 0, stride_w = 0;
  int64_t pad_top = 0, pad_left = 0;  // conv "same"
  bool relu = false;
  enum class Algo { kDirect, kWinograd, kDot } algo = Algo::kDirect;  // convs
};

bool hidden_activation_ok(const std::string& a) { return a == "relu" || a == "linear"; }

// Winograd F(4x4,3x3) does 36 multiplies per 4x4 output tile instead of 144; worth its
// transforms with enough input channels and when the tiles do not overhang too much.
bool use_winograd(int64_t in_c, int64_t out_h, int64_t out_w) {
  const int64_t tiles = (out_h + 3) / 4 * ((out_w + 3) / 4);
  return in_c >= 8 && tiles >= 2 && 36 * tiles * 10 <= 9 * out_h * out_w * 7;
}

// Maps with at most this many output pixels use the dot-product convolution (no packed
// weight): the channels-last kernel's register tiles would be mostly empty.
constexpr int64_t kDotMaxPixels = 16;

// Convolutions of more multiply-adds per image than this take the ordinary path.
constexpr int64_t kMaxConvMacs = int64_t{32} << 20;

// Per-thread bound on the packed weight caches (floats, raw copies included): past it they
// are emptied and refilled by the calls that follow.
constexpr size_t kMaxCachedFloats = size_t{16} << 20;

bool plan_conv(const Conv2D& conv, Step& s) {
  if (!conv.built()) return false;
  const Conv2DOptions& o = conv.options();
  if (o.strides != std::array<int64_t, 2>{1, 1} || o.dilation_rate != std::array<int64_t, 2>{1, 1} || o.groups != 1)
    return false;
  if (!hidden_activation_ok(o.activation) || (o.padding != "valid" && o.padding != "same")) return false;
  const Tensor& w = conv.weight();
  if (!is_f32_contiguous(w) || w.dim() != 4 || w.shape()[1] != s.in_c) return false;
  if (conv.bias().defined() && !is_f32_contiguous(conv.bias())) return false;
  s.kind = Step::Kind::kConv;
  s.out_c = w.shape()[0];
  s.kernel_h = w.shape()[2];
  s.kernel_w = w.shape()[3];
  if (o.padding == "same") {
    s.pad_top = (s.kernel_h - 1) / 2;
    s.pad_left = (s.kernel_w - 1) / 2;
    s.out_h = s.in_h;
    s.out_w = s.in_w;
  } else {
    s.out_h = s.in_h - s.kernel_h + 1;
    s.out_w = s.in_w - s.kernel_w + 1;
  }
  s.relu = o.activation == "relu";
  // Large convolutions go to oneDNN, whose blocked kernels and threading win there.
  if (s.out_h * s.out_w * s.in_c * s.kernel_h * s.kernel_w * s.out_c > kMaxConvMacs) return false;
  if (s.kernel_h == 3 && s.kernel_w == 3 && use_winograd(s.in_c, s.out_h, s.out_w)) {
    s.algo = Step::Algo::kWinograd;
  } else if (s.out_h * s.out_w <= kDotMaxPixels) {
    s.algo = Step::Algo::kDot;
  }
  return s.out_h > 0 && s.out_w > 0;
}

bool plan_pool(const Pool2D& pool, Step& s) {
  if (pool.kind() != Pool2D::Kind::kMax || pool.options().padding != "valid") return false;
  s.kind = Step::Kind::kPool;
  s.kernel_h = pool.pool_size()[0];
  s.kernel_w = pool.pool_size()[1];
  s.stride_h = pool.strides()[0];
  s.stride_w = pool.strides()[1];
  if (s.kernel_h > s.in_h || s.kernel_w > s.in_w) return false;
  s.out_c = s.in_c;
  s.out_h = (s.in_h - s.kernel_h) / s.stride_h + 1;
  s.out_w = (s.in_w - s.kernel_w) / s.stride_w + 1;
  return true;
}

bool plan_dense(const Dense& d, bool last, Step& s) {
  if (!d.built()) return false;
  const Tensor& w = d.weight();
  if (!is_f32_contiguous(w) || w.dim() != 2 || w.shape()[1] != s.in_c) return false;
  if (d.bias().defined() && !is_f32_contiguous(d.bias())) return false;
  if (!last && !hidden_activation_ok(d.activation())) return false;
  s.kind = Step::Kind::kDense;
  s.out_c = w.shape()[0];
  s.relu = d.activation() == "relu";
  return true;
}

// The plan for `net` on images [C, H, W]; 0 steps when the fast path does not apply.
size_t make_plan(const Sequential& net, int64_t c, int64_t h, int64_t w, Step* steps) {
  const NamedModules& children = net.named_children();
  if (children.empty() || children.size() > kMaxLayers) return 0;
  bool flat = false;
  for (size_t i = 0; i < children.size(); ++i) {
    const Module* m = children[i].second.get();
    if (m == nullptr) return 0;
    Step& s = steps[i];
    s = Step{};
    s.layer = m;
    s.in_c = c;
    s.in_h = h;
    s.in_w = w;
    const std::type_info& type = typeid(*m);
    bool ok = false;
    if (type == typeid(Conv2D)) {
      ok = !flat && plan_conv(static_cast<const Conv2D&>(*m), s);
    } else if (i == 0) {
      ok = false;  // not a conv net: leave it to the other paths
    } else if (type == typeid(MaxPooling2D)) {
      ok = !flat && plan_pool(static_cast<const Pool2D&>(*m), s);
    } else if (type == typeid(Flatten)) {
      ok = !flat;
      s.kind = Step::Kind::kFlatten;
      s.out_c = c * h * w;
      s.out_h = s.out_w = 1;
      flat = true;
    } else if (type == typeid(Dense)) {
      ok = flat && plan_dense(static_cast<const Dense&>(*m), i + 1 == children.size(), s);
      s.out_h = s.out_w = 1;
    }
    if (!ok) return 0;
    c = s.out_c;
    h = s.out_h;
    w = s.out_w;
  }
  return children.size();
}

// Packed copies of conv weights, one map per packing, validated against the raw values.
struct PackedWeight {
  Shape shape;
  std::vector<float> raw, packed;
};

const float* packed_weight(const Tensor& weight, bool winograd) {
  thread_local std::unordered_map<const float*, PackedWeight> caches[2];
  thread_local size_t cached_floats = 0;
  auto& cache = caches[winograd ? 1 : 0];
  const float* w = weight.data<float>();
  const size_t n = static_cast<size_t>(weight.numel());
  if (auto it = cache.find(w); it != cache.end()) {
    const PackedWeight& e = it->second;
    if (e.shape == weight.shape() && e.raw.size() == n && std::memcmp(e.raw.data(), w, n * sizeof(float)) == 0)
      return e.packed.data();
  }
  if (cached_floats > kMaxCachedFloats) {  // bound the memory
    caches[0].clear();
    caches[1].clear();
    cached_floats = 0;
  }
  PackedWeight& e = cache[w];
  cached_floats -= e.raw.size() + e.packed.size();
  const int64_t out_c = weight.shape()[0], in_c = weight.shape()[1];
  e.shape = weight.shape();
  e.raw.assign(w, w + n);
  if (winograd) {
    e.packed.resize(static_cast<size_t>(cpu::winograd_packed_size(out_c, in_c)));
    cpu::winograd_pack_weight(w, out_c, in_c, e.packed.data());
  } else {
    const int64_t kh = weight.shape()[2], kw = weight.shape()[3];
    e.packed.resize(static_cast<size_t>(kh * kw * in_c * cpu::conv_packed_ld(out_c)));
    cpu::pack_conv_weight(w, out_c, in_c, kh, kw, e.packed.data());
  }
  cached_floats += e.raw.size() + e.packed.size();
  return e.packed.data();
}

float* scratch(std::vector<float>& buf, int64_t n) {
  if (buf.size() < static_cast<size_t>(n)) buf.resize(static_cast<size_t>(n));
  return buf.data();
}

// [C, H, W] -> [H, W, C] (and back with the roles swapped).
void transpose(const float* in, int64_t rows, int64_t cols, float* out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = in[r * cols + c];
}

// Runs one image through the plan; `y` receives the last step's output (NCHW order when the
// network ends on a conv or pool).
void run_image(const Step* steps, size_t count, const float* x, float* y) {
  // bufs[0]: the input made channels-last; 1, 2: layer outputs in turn; 3: padded conv inputs.
  thread_local std::vector<float> bufs[4];
  const Step& first = steps[0];
  const float* cur = x;
  if (first.in_c > 1) {
    float* t = scratch(bufs[0], first.in_c * first.in_h * first.in_w);
    transpose(x, first.in_c, first.in_h * first.in_w, t);
    cur = t;
  }
  for (size_t l = 0; l < count; ++l) {
    const Step& s = steps[l];
    const bool last = l + 1 == count;
    const int64_t out_size = s.out_c * s.out_h * s.out_w;
    float* out =
        last && s.kind != Step::Kind::kConv && s.kind != Step::Kind::kPool ? y : scratch(bufs[1 + l % 2], out_size);
    switch (s.kind) {
      case Step::Kind::kConv: {
        const auto& conv = static_cast<const Conv2D&>(*s.layer);
        cpu::ConvNhwcGeometry g;
        g.in_h = s.out_h + s.kernel_h - 1;
        g.in_w = s.out_w + s.kernel_w - 1;
        g.in_c = s.in_c;
        g.kernel_h = s.kernel_h;
        g.kernel_w = s.kernel_w;
        g.out_c = s.out_c;
        const float* in = cur;
        if (g.in_h != s.in_h || g.in_w != s.in_w) {  // "same": a zero-padded copy
          float* p = scratch(bufs[3], g.in_h * g.in_w * g.in_c);
          std::fill(p, p + g.in_h * g.in_w * g.in_c, 0.0f);
          for (int64_t r = 0; r < s.in_h; ++r)
            std::copy(cur + r * s.in_w * s.in_c, cur + (r + 1) * s.in_w * s.in_c,
                      p + ((r + s.pad_top) * g.in_w + s.pad_left) * g.in_c);
          in = p;
        }
        const float* bias = conv.bias().defined() ? conv.bias().data<float>() : nullptr;
        if (s.algo == Step::Algo::kDot) {
          cpu::conv2d_nhwc_dot(g, in, conv.weight().data<float>(), bias, s.relu, out);
        } else if (s.algo == Step::Algo::kWinograd) {
          cpu::conv2d_nhwc_winograd3x3(g, in, packed_weight(conv.weight(), true), bias, s.relu, out);
        } else {
          cpu::conv2d_nhwc_direct(g, in, packed_weight(conv.weight(), false), bias, s.relu, out);
        }
        break;
      }
      case Step::Kind::kPool:
        cpu::max_pool2d_nhwc(s.in_w, s.in_c, s.kernel_h, s.kernel_w, s.stride_h, s.stride_w, s.out_h, s.out_w, cur,
                             out);
        break;
      case Step::Kind::kFlatten:
        transpose(cur, s.in_h * s.in_w, s.in_c, out);  // [H*W, C] -> [C, H*W]: NCHW order
        break;
      case Step::Kind::kDense: {
        const auto& d = static_cast<const Dense&>(*s.layer);
        const float* b = d.bias().defined() ? d.bias().data<float>() : nullptr;
        cpu::gemv_rows(s.out_c, s.in_c, cur, d.weight().data<float>(), s.in_c, b, out);
        if (s.relu)
          for (int64_t i = 0; i < s.out_c; ++i) out[i] = out[i] > 0.0f ? out[i] : 0.0f;  // NaN -> 0 like linear_relu
        break;
      }
    }
    if (last && (s.kind == Step::Kind::kConv || s.kind == Step::Kind::kPool))
      transpose(out, s.out_h * s.out_w, s.out_c, y);
    cur = out;
  }
}

}  // namespace

Tensor conv_stack_forward(const Sequential& net, const Tensor& input) {
  if (grad_enabled() || math_precision() != Precision::kF32) return {};
  if (!input.defined() || input.dim() != 4 || !is_f32_contiguous(input)) return {};
  const int64_t n = input.shape()[0], c = input.shape()[1], h = input.shape()[2], w = input.shape()[3];
  if (n < 1 || n > kConvStackMaxBatch || c < 1 || h < 1 || w < 1) return {};
  Step steps[kMaxLayers];
  const size_t count = make_plan(net, c, h, w, steps);
  if (count == 0) return {};
  const Step& last = steps[count - 1];
  const bool flat = last.kind == Step::Kind::kFlatten || last.kind == Step::Kind::kDense;
  Tensor out = flat ? empty({n, last.out_c}) : empty({n, last.out_c, last.out_h, last.out_w});
  const int64_t in_size = c * h * w, out_size = last.out_c * last.out_h * last.out_w;
  for (int64_t i = 0; i < n; ++i)
    run_image(steps, count, input.data<float>() + i * in_size, out.data<float>() + i * out_size);
  if (last.kind == Step::Kind::kDense) {
    const std::string& act = static_cast<const Dense&>(*last.layer).activation();
    if (!hidden_activation_ok(act)) out = apply_activation(act, out);
  }
  return out;
}

}  // namespace forge::nn
