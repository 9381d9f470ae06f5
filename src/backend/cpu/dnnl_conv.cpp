#include "backend/cpu/dnnl_conv.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "backend/cpu/conv_weight_grad.h"
#include "backend/cpu/dnnl_context.h"
#include "core/error.h"
#include "core/parallel.h"

namespace forge::cpu {

namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using DT = memory::data_type;

enum class Pass : int64_t { kForward, kBackwardData, kBackwardWeights };

// The cache key: every field of the geometry, the pass and its options (bias, relu).
using Key = std::array<int64_t, 23>;

Key make_key(const Conv2dGeometry& g, Pass pass, bool bias, bool relu) {
  // clang-format off
  return {g.batch, g.in_channels, g.in_h, g.in_w, g.out_channels, g.kernel_h, g.kernel_w,
          g.stride_h, g.stride_w, g.dilation_h, g.dilation_w,
          g.pad_top, g.pad_left, g.pad_bottom, g.pad_right, g.groups, g.out_h, g.out_w, g.bf16, g.dst_block,
          static_cast<int64_t>(pass), bias ? 1 : 0, relu ? 1 : 0};
  // clang-format on
}

struct KeyHash {
  size_t operator()(const Key& key) const {
    size_t h = 1469598103934665603ull;
    for (int64_t v : key) h = (h ^ static_cast<size_t>(v)) * 1099511628211ull;
    return h;
  }
};

// FORGE_CONV_LAYOUT=plain keeps every argument in the caller's NCHW/OIHW layout (no reorders;
// oneDNN then runs its im2col+GEMM kernels). The default lets oneDNN choose (blocked layouts).
bool plain_layouts() {
  static const bool plain = [] {
    const char* v = std::getenv("FORGE_CONV_LAYOUT");
    return v != nullptr && std::strcmp(v, "plain") == 0;
  }();
  return plain;
}

// One argument of a cached primitive: the caller's plain f32 layout, the primitive's own, and
// the reorder between them (absent when they are the same memory format).
struct Arg {
  int id = 0;
  bool output = false;
  memory::desc user, prim;
  dnnl::primitive reorder;  // user -> prim for inputs, prim -> user for outputs
  bool same = true;
};

struct Entry {
  dnnl::primitive prim;
  std::vector<Arg> args;
  int64_t native_block = 0;  // forward: the channel block of the kernel's own dst layout (see conv2d_native_block)
};

constexpr size_t kMaxCachedPrimitives = 512;
std::mutex g_cache_mutex;
std::unordered_map<Key, std::shared_ptr<const Entry>, KeyHash> g_cache;

struct UserDescs {
  memory::desc src, weights, bias, dst;
  memory::dims strides, dilates, pad_l, pad_r;
};

memory::desc weights_desc(const Conv2dGeometry& g, DT dt, Tag plain_tag) {
  if (g.groups == 1) return memory::desc({g.out_channels, g.in_channels, g.kernel_h, g.kernel_w}, dt, plain_tag);
  // [O, C/g, KH, KW] is the same memory as [g, O/g, C/g, KH, KW].
  return memory::desc({g.groups, g.out_channels / g.groups, g.in_channels / g.groups, g.kernel_h, g.kernel_w}, dt,
                      plain_tag == Tag::any ? Tag::any : Tag::goihw);
}

UserDescs user_descs(const Conv2dGeometry& g) {
  UserDescs d;
  d.src = memory::desc({g.batch, g.in_channels, g.in_h, g.in_w}, DT::f32, Tag::nchw);
  d.weights = weights_desc(g, DT::f32, Tag::oihw);
  d.bias = memory::desc({g.out_channels}, DT::f32, Tag::x);
  d.dst = memory::desc({g.batch, g.out_channels, g.out_h, g.out_w}, DT::f32,
                       g.dst_block == 8 ? Tag::nChw8c : g.dst_block == 16 ? Tag::nChw16c : Tag::nchw);
  d.strides = {g.stride_h, g.stride_w};
  d.dilates = {g.dilation_h - 1, g.dilation_w - 1};  // oneDNN counts the gaps
  d.pad_l = {g.pad_top, g.pad_left};
  d.pad_r = {g.pad_bottom, g.pad_right};
  return d;
}

// The descriptors the primitive is created with: `any` (oneDNN chooses) or the plain ones, in
// the input data type (bf16 or f32); outputs stay f32.
struct PrimDescs {
  memory::desc src, weights, bias, dst_f32, dst_in;
};

PrimDescs prim_descs(const Conv2dGeometry& g) {
  const DT in = g.bf16 != 0 ? DT::bf16 : DT::f32;
  const bool plain = plain_layouts() && g.bf16 == 0;
  PrimDescs p;
  p.src = memory::desc({g.batch, g.in_channels, g.in_h, g.in_w}, in, plain ? Tag::nchw : Tag::any);
  p.weights = weights_desc(g, in, plain ? Tag::oihw : Tag::any);
  p.bias = memory::desc({g.out_channels}, DT::f32, Tag::x);
  p.dst_f32 = memory::desc({g.batch, g.out_channels, g.out_h, g.out_w}, DT::f32, plain ? Tag::nchw : Tag::any);
  p.dst_in = memory::desc({g.batch, g.out_channels, g.out_h, g.out_w}, in, plain ? Tag::nchw : Tag::any);
  return p;
}

dnnl::convolution_forward::primitive_desc forward_pd(const UserDescs& u, const PrimDescs& p, bool with_bias, bool relu,
                                                     const memory::desc& dst) {
  auto& engine = dnnl_engine();
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  if (with_bias) {
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, p.src,
                                         p.weights, p.bias, dst, u.strides, u.dilates, u.pad_l, u.pad_r);
    return {desc, attr, engine};
  }
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, p.src,
                                       p.weights, dst, u.strides, u.dilates, u.pad_l, u.pad_r);
  return {desc, attr, engine};
}

Arg make_arg(int id, bool output, const memory::desc& user, const memory::desc& prim) {
  Arg a;
  a.id = id;
  a.output = output;
  a.user = user;
  a.prim = prim;
  a.same = user == prim;
  if (!a.same) {
    auto& engine = dnnl_engine();
    a.reorder = output ? dnnl::reorder(dnnl::reorder::primitive_desc(engine, prim, engine, user))
                       : dnnl::reorder(dnnl::reorder::primitive_desc(engine, user, engine, prim));
  }
  return a;
}

Entry create(const Conv2dGeometry& g, Pass pass, bool bias, bool relu) {
  const UserDescs u = user_descs(g);
  const PrimDescs p = prim_descs(g);
  Entry e;
  switch (pass) {
    case Pass::kForward: {
      auto pd = forward_pd(u, p, bias, relu, p.dst_f32);
      e.prim = dnnl::convolution_forward(pd);
      e.args.push_back(make_arg(DNNL_ARG_SRC, false, u.src, pd.src_desc()));
      e.args.push_back(make_arg(DNNL_ARG_WEIGHTS, false, u.weights, pd.weights_desc()));
      if (bias) e.args.push_back(make_arg(DNNL_ARG_BIAS, false, u.bias, pd.bias_desc()));
      e.args.push_back(make_arg(DNNL_ARG_DST, true, u.dst, pd.dst_desc()));
      const memory::dims dims = {g.batch, g.out_channels, g.out_h, g.out_w};
      for (int64_t block : {8, 16}) {
        if (g.bf16 == 0 && pd.dst_desc() == memory::desc(dims, DT::f32, block == 8 ? Tag::nChw8c : Tag::nChw16c)) {
          e.native_block = block;
        }
      }
      break;
    }
    case Pass::kBackwardData: {
      const memory::desc diff_src({g.batch, g.in_channels, g.in_h, g.in_w}, DT::f32,
                                  plain_layouts() && g.bf16 == 0 ? Tag::nchw : Tag::any);
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, diff_src, p.weights, p.dst_in,
                                                 u.strides, u.dilates, u.pad_l, u.pad_r);
      dnnl::convolution_backward_data::primitive_desc pd(desc, dnnl_engine(), forward_pd(u, p, false, false, p.dst_in));
      e.prim = dnnl::convolution_backward_data(pd);
      e.args.push_back(make_arg(DNNL_ARG_DIFF_DST, false, u.dst, pd.diff_dst_desc()));
      e.args.push_back(make_arg(DNNL_ARG_WEIGHTS, false, u.weights, pd.weights_desc()));
      e.args.push_back(make_arg(DNNL_ARG_DIFF_SRC, true, u.src, pd.diff_src_desc()));
      break;
    }
    case Pass::kBackwardWeights: {
      const memory::desc diff_w = weights_desc(g, DT::f32, plain_layouts() && g.bf16 == 0 ? Tag::oihw : Tag::any);
      auto hint = forward_pd(u, p, bias, false, p.dst_in);
      dnnl::convolution_backward_weights::primitive_desc pd =
          bias ? dnnl::convolution_backward_weights::primitive_desc(
                     dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, p.src, diff_w,
                                                              p.bias, p.dst_in, u.strides, u.dilates, u.pad_l, u.pad_r),
                     dnnl_engine(), hint)
               : dnnl::convolution_backward_weights::primitive_desc(
                     dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, p.src, diff_w,
                                                              p.dst_in, u.strides, u.dilates, u.pad_l, u.pad_r),
                     dnnl_engine(), hint);
      e.prim = dnnl::convolution_backward_weights(pd);
      e.args.push_back(make_arg(DNNL_ARG_SRC, false, u.src, pd.src_desc()));
      e.args.push_back(make_arg(DNNL_ARG_DIFF_DST, false, u.dst, pd.diff_dst_desc()));
      e.args.push_back(make_arg(DNNL_ARG_DIFF_WEIGHTS, true, u.weights, pd.diff_weights_desc()));
      if (bias) e.args.push_back(make_arg(DNNL_ARG_DIFF_BIAS, true, u.bias, pd.diff_bias_desc()));
      break;
    }
  }
  return e;
}

std::shared_ptr<const Entry> cached(const Conv2dGeometry& g, Pass pass, bool bias, bool relu) {
  const Key key = make_key(g, pass, bias, relu);
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  auto it = g_cache.find(key);
  if (it != g_cache.end()) return it->second;
  if (g_cache.size() >= kMaxCachedPrimitives) g_cache.clear();
  std::shared_ptr<const Entry> entry;
  try {
    entry = std::make_shared<const Entry>(create(g, pass, bias, relu));
  } catch (const dnnl::error& e) {
    fail(
        "[conv2d] oneDNN could not create a {}convolution for input ({},{},{},{}), weight ({},{},{},{}), groups {}: {}",
        g.bf16 != 0 ? "bf16 " : "", g.batch, g.in_channels, g.in_h, g.in_w, g.out_channels, g.in_channels / g.groups,
        g.kernel_h, g.kernel_w, g.groups, e.what());
  }
  g_cache.emplace(key, entry);
  return entry;
}

// Per-thread scratch buffers for reordered arguments: grown when needed, never shrunk, so
// steady-state training allocates nothing here.
struct Scratch {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::unique_ptr<void, Free> data;
  size_t bytes = 0;
  void* get(size_t n) {
    if (n > bytes) {
      data.reset(std::aligned_alloc(64, (n + 63) / 64 * 64));
      FORGE_CHECK(data != nullptr, "[conv2d] out of memory allocating {} bytes of scratch", n);
      bytes = n;
    }
    return data.get();
  }
};

void run(const Entry& e, const std::vector<const void*>& pointers) {
  num_threads();  // configure the OpenMP team before oneDNN reads it
  thread_local std::array<Scratch, 5> scratch;
  auto& engine = dnnl_engine();
  auto& stream = dnnl_stream();
  std::unordered_map<int, memory> args;
  std::array<memory, 5> users;
  for (size_t i = 0; i < e.args.size(); ++i) {
    const Arg& a = e.args[i];
    users[i] = memory(a.user, engine, const_cast<void*>(pointers[i]));
    if (a.same) {
      args.emplace(a.id, users[i]);
      continue;
    }
    memory m(a.prim, engine, scratch[i].get(a.prim.get_size()));
    if (!a.output) a.reorder.execute(stream, {{DNNL_ARG_FROM, users[i]}, {DNNL_ARG_TO, m}});
    args.emplace(a.id, m);
  }
  e.prim.execute(stream, args);
  for (size_t i = 0; i < e.args.size(); ++i) {
    const Arg& a = e.args[i];
    if (a.output && !a.same) a.reorder.execute(stream, {{DNNL_ARG_FROM, args.at(a.id)}, {DNNL_ARG_TO, users[i]}});
  }
  stream.wait();
}

}  // namespace

void conv2d_forward(const Conv2dGeometry& g, const float* src, const float* weight, const float* bias, float* dst,
                    bool relu) {
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) return;
  const bool with_bias = bias != nullptr;
  auto e = cached(g, Pass::kForward, with_bias, relu);
  if (with_bias) return run(*e, {src, weight, bias, dst});
  run(*e, {src, weight, dst});
}

void conv2d_backward_data(const Conv2dGeometry& g, const float* diff_dst, const float* weight, float* diff_src) {
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) {
    std::fill(diff_src, diff_src + g.batch * g.in_channels * g.in_h * g.in_w, 0.0f);
    return;
  }
  run(*cached(g, Pass::kBackwardData, false, false), {diff_dst, weight, diff_src});
}

void conv2d_backward_weights(const Conv2dGeometry& g, const float* src, const float* diff_dst, float* diff_weight,
                             float* diff_bias) {
  if (g.batch == 0 || g.out_h == 0 || g.out_w == 0) {
    std::fill(diff_weight, diff_weight + g.out_channels * (g.in_channels / g.groups) * g.kernel_h * g.kernel_w, 0.0f);
    if (diff_bias != nullptr) std::fill(diff_bias, diff_bias + g.out_channels, 0.0f);
    return;
  }
  if (conv2d_weight_grad_small_supported(g)) return conv2d_weight_grad_small(g, src, diff_dst, diff_weight, diff_bias);
  const bool with_bias = diff_bias != nullptr;
  auto e = cached(g, Pass::kBackwardWeights, with_bias, false);
  if (with_bias) return run(*e, {src, diff_dst, diff_weight, diff_bias});
  run(*e, {src, diff_dst, diff_weight});
}

int64_t conv2d_native_block(const Conv2dGeometry& g) {
  if (g.bf16 != 0 || g.batch == 0 || g.out_h == 0 || g.out_w == 0) return 0;
  Conv2dGeometry plain = g;
  plain.dst_block = 0;
  return cached(plain, Pass::kForward, true, true)->native_block;
}

int64_t conv2d_cache_size() {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  return static_cast<int64_t>(g_cache.size());
}

}  // namespace forge::cpu
