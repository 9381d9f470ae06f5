// PyTorch parity for ops/softmax, ops/index, ops/embedding, ops/norm
// (goldens from tools/golden/families/ops2.py).
#include "golden/golden.h"
#include "ops/embedding.h"
#include "ops/index.h"
#include "ops/norm.h"
#include "ops/softmax.h"

namespace forge {
namespace {

const golden::Case& ops2_case(const std::string& name) { return golden::get("ops2", name); }

void check_ops2_unary(const std::string& name, const std::function<Tensor(const Tensor&)>& fn) {
  const auto& c = ops2_case(name);
  Tensor x = c.input(0);
  EXPECT_TRUE(c.check(fn(x), {x})) << name;
}

TEST(GoldenOps2, Softmax) {
  check_ops2_unary("softmax_last", [](const Tensor& x) { return softmax(x, -1); });
  check_ops2_unary("softmax_axis0", [](const Tensor& x) { return softmax(x, 0); });
  check_ops2_unary("softmax_axis1", [](const Tensor& x) { return softmax(x, 1); });
  check_ops2_unary("softmax_large", [](const Tensor& x) { return softmax(div(x, 30.0), -1); });
  {
    // Saturated rows (logit gaps ~50): the forward holds 1e-5, but the backward
    // g*y - y*sum(g*y) cancels where y rounds to 1 (float32 keeps 1 - y only to ~6e-8), so its
    // gradient of scale ~3e-4 can only match float64 to ~1e-3 relative in float32.
    const auto& c = ops2_case("softmax_large_raw");
    Tensor x = c.input(0);
    Tensor y = softmax(x, 0);
    EXPECT_TRUE(c.expect("out", y));
    EXPECT_TRUE(c.check(y, {x}, 2e-3));
  }
  check_ops2_unary("log_softmax_last", [](const Tensor& x) { return log_softmax(x, -1); });
  check_ops2_unary("log_softmax_axis0", [](const Tensor& x) { return log_softmax(x, 0); });
  check_ops2_unary("log_softmax_axis1", [](const Tensor& x) { return log_softmax(x, 1); });
  check_ops2_unary("log_softmax_large", [](const Tensor& x) { return log_softmax(x, -1); });
}

TEST(GoldenOps2, JoinAndSplit) {
  {
    const auto& c = ops2_case("concat_axis1");
    Tensors in{c.input(0), c.input(1), c.input(2)};
    EXPECT_TRUE(c.check(concat(in, 1), in));
  }
  {
    const auto& c = ops2_case("stack_axis1");
    Tensors in{c.input(0), c.input(1)};
    EXPECT_TRUE(c.check(stack(in, 1), in));
  }
  {
    const auto& c = ops2_case("split_axis1");
    Tensor x = c.input(0);
    EXPECT_TRUE(c.check(split(x, {1, 2, 3}, 1), {x}));
  }
  {
    const auto& c = ops2_case("chunk_axis0");
    Tensor x = c.input(0);
    EXPECT_TRUE(c.check(chunk(x, 3, 0), {x}));
  }
}

TEST(GoldenOps2, Indexing) {
  {
    const auto& c = ops2_case("index_select_axis0");
    Tensor x = c.input(0);
    EXPECT_TRUE(c.check(index_select(x, 0, c.input(1)), {x}));
  }
  {
    const auto& c = ops2_case("index_select_axis1");
    Tensor x = c.input(0);
    EXPECT_TRUE(c.check(index_select(x, 1, c.input(1)), {x}));
  }
  for (const auto& [name, axis] : {std::pair{"gather_axis1", 1}, std::pair{"gather_axis0", 0}}) {
    const auto& c = ops2_case(name);
    Tensor x = c.input(0);
    EXPECT_TRUE(c.check(gather(x, axis, c.input(1)), {x})) << name;
  }
  {
    const auto& c = ops2_case("index_add_axis0");
    Tensor base = c.input(0), source = c.input(2);
    EXPECT_TRUE(c.check(index_add(base, 0, c.input(1), source), {base, Tensor(), source}));
  }
  {
    const auto& c = ops2_case("scatter_add_axis1");
    Tensor base = c.input(0), source = c.input(2);
    EXPECT_TRUE(c.check(scatter_add(base, 1, c.input(1), source), {base, Tensor(), source}));
  }
  {
    const auto& c = ops2_case("one_hot");
    EXPECT_TRUE(c.expect("out", one_hot(c.input(0), 4)));
  }
}

TEST(GoldenOps2, Embedding) {
  {
    const auto& c = ops2_case("embedding_padding");
    Tensor w = c.input(1);
    EXPECT_TRUE(c.check(embedding(c.input(0), w, c.args()["padding_idx"].get<int64_t>()), {Tensor(), w}));
  }
  {
    const auto& c = ops2_case("embedding");
    Tensor w = c.input(1);
    EXPECT_TRUE(c.check(embedding(c.input(0), w), {Tensor(), w}));
  }
}

TEST(GoldenOps2, BatchNorm) {
  for (const char* name : {"batch_norm_train", "batch_norm_train_2d", "batch_norm_eval"}) {
    const auto& c = ops2_case(name);
    Tensor x = c.input(0), w = c.input(1), b = c.input(2);
    Tensor rm = c.get("rm"), rv = c.get("rv");
    const auto& a = c.args();
    Tensor y =
        batch_norm(x, rm, rv, w, b, a["training"].get<bool>(), a["momentum"].get<double>(), a["eps"].get<double>());
    EXPECT_TRUE(c.check(y, {x, w, b})) << name;
    // One step of running statistics (unchanged in eval mode).
    EXPECT_TRUE(c.expect("rm_after", rm)) << name;
    EXPECT_TRUE(c.expect("rv_after", rv)) << name;
  }
}

TEST(GoldenOps2, LayerNormAndRmsNorm) {
  {
    const auto& c = ops2_case("layer_norm_last");
    Tensor x = c.input(0), w = c.input(1), b = c.input(2);
    EXPECT_TRUE(c.check(layer_norm(x, {4}, w, b, 1e-5), {x, w, b}));
  }
  check_ops2_unary("layer_norm_last2_noaffine", [](const Tensor& x) { return layer_norm(x, {3, 4}); });
  {
    const auto& c = ops2_case("rms_norm_last");
    Tensor x = c.input(0), w = c.input(1);
    EXPECT_TRUE(c.check(rms_norm(x, {4}, w, 1e-6), {x, w}));
  }
  check_ops2_unary("rms_norm_last2_noweight", [](const Tensor& x) { return rms_norm(x, {3, 4}, Tensor(), 1e-5); });
}

}  // namespace
}  // namespace forge
