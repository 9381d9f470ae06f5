// PyTorch parity for lora_linear (goldens from tools/golden/families/lora.py).
#include "golden/golden.h"
#include "models/llama_train.h"

namespace forge {
namespace {

TEST(GoldenLora, LoraLinear) {
  for (const char* name : {"linear_2d", "linear_3d"}) {
    const auto& c = golden::get("lora", name);
    Tensor x = c.input(0), w = c.input(1), a = c.input(2), b = c.input(3);
    const double scale = c.args().at("scale").get<double>();
    EXPECT_TRUE(c.check(models::lora_linear(x, w, a, b, scale), {x, w, a, b})) << name;
  }
}

}  // namespace
}  // namespace forge
