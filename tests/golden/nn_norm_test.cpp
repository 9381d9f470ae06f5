// PyTorch parity for BatchNormalization and LayerNormalization (tools/golden/families/nn.py).
#include "golden/golden.h"
#include "nn/layers/norm.h"

namespace forge::nn {
namespace {

TEST(GoldenNN, BatchNormalization) {
  for (const char* name : {"batch_norm_train_4d", "batch_norm_train_2d", "batch_norm_eval_4d"}) {
    const auto& c = golden::get("nn", name);
    BatchNormalization bn;
    bn.load_state({{"weight", c.get("in1")},
                   {"bias", c.get("in2")},
                   {"running_mean", c.get("running_mean")},
                   {"running_var", c.get("running_var")},
                   {"num_batches_tracked", zeros({}, DType::kI64)}});
    if (!c.args()["training"].get<bool>()) bn.eval();
    Tensor x = c.input(0);
    EXPECT_TRUE(c.check(bn.forward(x), golden::inputs_of(x, bn))) << name;
    EXPECT_TRUE(c.expect("running_mean_after", bn.tensor("running_mean"))) << name;
    EXPECT_TRUE(c.expect("running_var_after", bn.tensor("running_var"))) << name;
  }
}

TEST(GoldenNN, LayerNormalization) {
  const auto& c = golden::get("nn", "layer_norm");
  LayerNormalization ln;
  ln.load_state({{"weight", c.get("in1")}, {"bias", c.get("in2")}});
  Tensor x = c.input(0);
  EXPECT_TRUE(c.check(ln.forward(x), golden::inputs_of(x, ln)));
}

}  // namespace
}  // namespace forge::nn
