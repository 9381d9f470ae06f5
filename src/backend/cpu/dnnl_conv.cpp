#include "backend/cpu/dnnl_conv.h"

#include <algorithm>
#include <array>
#include <mutex>
#include <unordered_map>

#include "backend/cpu/dnnl_context.h"
#include "core/error.h"
#include "core/parallel.h"

namespace forge::cpu {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
constexpr auto kF32 = memory::data_type::f32;

enum class Pass : int64_t { kForward, kForwardBias, kBackwardData, kBackwardWeights };

// The cache key: every field of the geometry plus which pass.
using Key = std::array<int64_t, 19>;

Key make_key(const Conv2dGeometry& g, Pass pass) {
  // clang-format off
  return {g.batch, g.in_channels, g.in_h, g.in_w, g.out_channels, g.kernel_h, g.kernel_w,
          g.stride_h, g.stride_w, g.dilation_h, g.dilation_w,
          g.pad_top, g.pad_left, g.pad_bottom, g.pad_right, g.groups, g.out_h, g.out_w,
          static_cast<int64_t>(pass)};
  // clang-format on
}

struct KeyHash {
  size_t operator()(const Key& key) const {
    size_t h = 1469598103934665603ull;
    for (int64_t v : key) h = (h ^ static_cast<size_t>(v)) * 1099511628211ull;
    return h;
  }
};

// Shapes seen in one process are few (one per layer and batch size); the bound only guards
// against pathological callers that sweep shapes.
constexpr size_t kMaxCachedPrimitives = 512;

std::mutex g_cache_mutex;
std::unordered_map<Key, dnnl::primitive, KeyHash> g_cache;

struct Descs {
  memory::desc src, weights, bias, dst;
  memory::dims strides, dilates, pad_l, pad_r;
};

Descs make_descs(const Conv2dGeometry& g) {
  Descs d;
  d.src = memory::desc({g.batch, g.in_channels, g.in_h, g.in_w}, kF32, Tag::nchw);
  if (g.groups == 1) {
    d.weights = memory::desc({g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}, kF32, Tag::oihw);
  } else {
    // [O, C/g, KH, KW] is the same memory as [g, O/g, C/g, KH, KW].
    d.weights = memory::desc({g.groups, g.out_channels / g.groups, g.in_channels / g.groups, g.kernel_h, g.kernel_w},
                             kF32, Tag::goihw);
  }
  d.bias = memory::desc({g.out_channels}, kF32, Tag::x);
  d.dst = memory::desc({g.batch, g.out_channels, g.out_h, g.out_w}, kF32, Tag::nchw);
  d.strides = {g.stride_h, g.stride_w};
  d.dilates = {g.dilation_h - 1, g.dilation_w - 1};  // oneDNN counts the gaps
  d.pad_l = {g.pad_top, g.pad_left};
  d.pad_r = {g.pad_bottom, g.pad_right};
  return d;
}

dnnl::convolution_forward::primitive_desc forward_pd(const Descs& d, bool with_bias) {
  auto& engine = dnnl_engine();
  if (with_bias) {
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.src,
                                         d.weights, d.bias, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
    return {desc, engine};
  }
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, d.src,
                                       d.weights, d.dst, d.strides, d.dilates, d.pad_l, d.pad_r);
  return {desc, engine};
}

dnnl::primitive create(const Conv2dGeometry& g, Pass pass) {
  const Descs d = make_descs(g);
  auto& engine = dnnl_engine();
  switch (pass) {
    case Pass::kForward:
    case Pass::kForwardBias:
      return dnnl::convolution_forward(forward_pd(d, pass == Pass::kForwardBias));
    case Pass::kBackwardData: {
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.dst,
                                                 d.strides, d.dilates, d.pad_l, d.pad_r);
      return dnnl::convolution_backward_data(
          dnnl::convolution_backward_data::primitive_desc(desc, engine, forward_pd(d, false)));
    }
    case Pass::kBackwardWeights: {
      dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, d.src, d.weights, d.dst,
                                                    d.strides, d.dilates, d.pad_l, d.pad_r);
      return dnnl::convolution_backward_weights(
          dnnl::convolution_backward_weights::primitive_desc(desc, engine, forward_pd(d, false)));
    }
  }
  fail("[conv2d] unknown convolution pass");
}

dnnl::primitive cached(const Conv2dGeometry& g, Pass pass) {
  const Key key = make_key(g, pass);
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  auto it = g_cache.find(key);
  if (it != g_cache.end()) return it->second;
  if (g_cache.size() >= kMaxCachedPrimitives) g_cache.clear();
  dnnl::primitive prim;
  try {
    prim = create(g, pass);
  } catch (const dnnl::error& e) {
    fail("[conv2d] oneDNN could not create a convolution for input ({},{},{},{}), weight ({},{},{},{}), groups {}: {}",
         g.batch, g.in_channels, g.in_h, g.in_w, g.out_channels, g.in_channels / g.groups, g.kernel_h, g.kernel_w,
         g.groups, e.what());
  }
  g_cache.emplace(key, prim);
  return prim;
}

void execute(const dnnl::primitive& prim, const std::unordered_map<int, memory>& args) {
  num_threads();  // configure the OpenMP team before oneDNN reads it
  auto& stream = dnnl_stream();
  prim.execute(stream, args);
  stream.wait();
}

memory wrap(const memory::desc& md, const float* p) { return memory(md, dnnl_engine(), const_cast<float*>(p)); }

}  // namespace

void conv2d_forward(const Conv2dGeometry& g, const float* src, const float* weight, const float* bias, float* dst) {
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) return;
  const Descs d = make_descs(g);
  const Pass pass = bias != nullptr ? Pass::kForwardBias : Pass::kForward;
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, wrap(d.src, src)}, {DNNL_ARG_WEIGHTS, wrap(d.weights, weight)}, {DNNL_ARG_DST, wrap(d.dst, dst)}};
  if (bias != nullptr) args.emplace(DNNL_ARG_BIAS, wrap(d.bias, bias));
  execute(cached(g, pass), args);
}

void conv2d_backward_data(const Conv2dGeometry& g, const float* diff_dst, const float* weight, float* diff_src) {
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) {
    std::fill(diff_src, diff_src + g.batch * g.in_channels * g.in_h * g.in_w, 0.0f);
    return;
  }
  const Descs d = make_descs(g);
  execute(cached(g, Pass::kBackwardData), {{DNNL_ARG_DIFF_DST, wrap(d.dst, diff_dst)},
                                           {DNNL_ARG_WEIGHTS, wrap(d.weights, weight)},
                                           {DNNL_ARG_DIFF_SRC, wrap(d.src, diff_src)}});
}

void conv2d_backward_weights(const Conv2dGeometry& g, const float* src, const float* diff_dst, float* diff_weight) {
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) {
    std::fill(diff_weight, diff_weight + g.out_channels * (g.in_channels / g.groups) * g.kernel_h * g.kernel_w, 0.0f);
    return;
  }
  const Descs d = make_descs(g);
  execute(cached(g, Pass::kBackwardWeights), {{DNNL_ARG_SRC, wrap(d.src, src)},
                                              {DNNL_ARG_DIFF_DST, wrap(d.dst, diff_dst)},
                                              {DNNL_ARG_DIFF_WEIGHTS, wrap(d.weights, diff_weight)}});
}

int64_t conv2d_cache_size() {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  return static_cast<int64_t>(g_cache.size());
}

}  // namespace forge::cpu
