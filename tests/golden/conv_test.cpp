// PyTorch parity for ops/conv and ops/pool (goldens from tools/golden/families/conv.py; each
// case's args hold the call's stride/padding/dilation/groups or kernel).
#include "ops/conv.h"

#include "golden/golden.h"
#include "ops/pool.h"

namespace forge {
namespace {

Padding padding_of(const nlohmann::json& args) {
  const auto& p = args.at("padding");
  if (p.is_string()) return p.get<std::string>() == "same" ? Padding::same() : Padding::valid();
  return Padding::explicit_(p.get<std::vector<int64_t>>());
}

std::array<int64_t, 2> pair_of(const nlohmann::json& v) { return {v.at(0).get<int64_t>(), v.at(1).get<int64_t>()}; }

void check_conv(const std::string& name) {
  const auto& c = golden::get("conv", name);
  const auto& a = c.args();
  Tensor x = c.input(0), w = c.input(1);
  Tensor b = c.has("in2") ? c.input(2) : Tensor();
  const int64_t groups = a.at("groups").get<int64_t>();
  Tensor out;
  if (x.dim() == 3) {
    out = conv1d(x, w, b, a.at("stride").at(0).get<int64_t>(), padding_of(a), a.at("dilation").at(0).get<int64_t>(),
                 groups);
  } else {
    out = conv2d(x, w, b, pair_of(a.at("stride")), padding_of(a), pair_of(a.at("dilation")), groups);
  }
  Tensors inputs{x, w};
  if (b.defined()) inputs.push_back(b);
  EXPECT_TRUE(c.check(out, inputs)) << name;
}

void check_pool(const std::string& name) {
  const auto& c = golden::get("conv", name);
  const auto& a = c.args();
  Tensor x = c.input(0);
  const bool is_max = a.at("kind").get<std::string>() == "max";
  Tensor out;
  if (x.dim() == 3) {
    const int64_t k = a.at("kernel").at(0).get<int64_t>(), s = a.at("stride").at(0).get<int64_t>();
    out = is_max ? max_pool1d(x, k, s, padding_of(a)) : avg_pool1d(x, k, s, padding_of(a));
  } else {
    const auto k = pair_of(a.at("kernel")), s = pair_of(a.at("stride"));
    out = is_max ? max_pool2d(x, k, s, padding_of(a)) : avg_pool2d(x, k, s, padding_of(a));
  }
  EXPECT_TRUE(c.check(out, {x})) << name;
}

TEST(GoldenConv, Conv2d) {
  for (const char* name :
       {"conv2d_bias", "conv2d_stride2_same", "conv2d_stride2_same_even_kernel", "conv2d_dilation2_explicit",
        "conv2d_groups2", "conv2d_same_dilation_groups", "conv2d_depthwise"}) {
    check_conv(name);
  }
}

TEST(GoldenConv, Conv1d) {
  for (const char* name : {"conv1d_bias", "conv1d_stride2_same_groups2", "conv1d_dilation2", "conv1d_same_dilation2"}) {
    check_conv(name);
  }
}

TEST(GoldenConv, Pool) {
  for (const char* name : {"max_pool2d_valid", "max_pool2d_same_stride2", "max_pool2d_explicit", "avg_pool2d_valid",
                           "avg_pool2d_same_stride2", "avg_pool2d_same_even", "avg_pool2d_explicit", "max_pool1d_valid",
                           "max_pool1d_same", "avg_pool1d_same", "avg_pool1d_explicit"}) {
    check_pool(name);
  }
}

TEST(GoldenConv, GlobalPool) {
  const std::pair<const char*, Tensor (*)(const Tensor&)> cases[] = {{"global_max_pool1d", global_max_pool1d},
                                                                     {"global_avg_pool1d", global_avg_pool1d},
                                                                     {"global_max_pool2d", global_max_pool2d},
                                                                     {"global_avg_pool2d", global_avg_pool2d}};
  for (const auto& [name, fn] : cases) {
    const auto& c = golden::get("conv", name);
    Tensor x = c.input(0);
    EXPECT_TRUE(c.check(fn(x), {x})) << name;
  }
}

}  // namespace
}  // namespace forge
