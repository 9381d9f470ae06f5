// K-quant checkpoints through the whole model: `forge quantize` turns SmolLM2-135M-Instruct
// (Q4_1 GGUF, dequantized on the way) into Q4_K and Q6_K GGUF files, which must load and give the
// logits of the f32 model built from the SAME quantized weights (dequantize_weights=true), and
// whose K-quant tensors the PyPI gguf package must dequantize to exactly our values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "cli/cli_util.h"
#include "formats/gguf.h"
#include "llm_test_util.h"
#include "models/llama.h"
#include "ops/quant.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

// Tolerance, quantized kernels vs. the f32 model on the same weights. The integer kernels
// quantize every activation row to 8 bits: Q8_0/Q8_1 blocks of 32 for the 32-block weight types,
// Q8_K blocks of 256 for the K-quants (as llama.cpp). SmolLM2's SwiGLU outputs (the ffn_down
// inputs, the only tensors whose rows are a multiple of 256 and so the only K-quant ones) have
// large outliers, and one scale per 256 values rounds the ordinary values around an outlier
// coarsely: on a real ffn_down with two outliers the product's relative error is 2.5% for Q4_K
// and Q6_K alike, on every kernel path (scalar, AVX2, VNNI). Measured RMS |dlogit| over full
// rows (logits span ~[-20, 32]) on the 5 reference prompts:
//   q4_1 (the original file, Q8_1 activations everywhere): 0.06-0.23
//   q4_k: 0.14-0.47        q6_k: 0.06-1.07 ("The quick brown fox", where a flip amplifies)
// The worst prompt depends on which activations land on a rounding boundary, so it moves with
// the compiler's summation order: the -O2 sanitizer build measured 1.69 on it (the others and
// the mean unchanged). Asserted: every prompt < 2.0, the mean over prompts < 0.6, and the f32
// model's argmax kept wherever its top-1/top-2 margin exceeds 1.0.
constexpr double kKquantRmsTol = 2.0;
constexpr double kMeanRmsTol = 0.6;
constexpr float kKquantMarginTol = 1.0f;

struct Quantized {
  std::string type;  // forge quantize --type
  DType kquant;      // the K-quant dtype its 256-multiple rows get
  std::string path;
};

class KQuantModel : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    FORGE_REQUIRE_MODELS();
    fs::create_directories(dir_);
  }

  static std::string quantize_to(const std::string& type) {
    if (type == "q4_1") return test::smollm2_path();  // the original file: the baseline
    const std::string out = (dir_ / ("smollm2." + type + ".gguf")).string();
    if (!fs::exists(out)) {
      const auto run = test::run_forge(fmt::format("quantize '{}' '{}' --type {}", test::smollm2_path(), out, type));
      EXPECT_EQ(run.exit_code, 0) << run.output;
    }
    return out;
  }

 public:
  static fs::path dir_;
};
// The quantized files are shared by both suites and removed when the test program ends.
fs::path KQuantModel::dir_ = fs::temp_directory_path() / fmt::format("forge_kquant_{}", ::getpid());
class RemoveQuantizedFiles : public ::testing::Environment {
 public:
  void TearDown() override { fs::remove_all(KQuantModel::dir_); }
};
[[maybe_unused]] ::testing::Environment* const kRemoveQuantizedFiles =
    ::testing::AddGlobalTestEnvironment(new RemoveQuantizedFiles);

DType kquant_of(const std::string& type) {
  return type == "q4_k" ? DType::kQ4_K : type == "q5_k" ? DType::kQ5_K : DType::kQ6_K;
}

TEST_P(KQuantModel, LogitsMatchTheF32ModelOfTheSameWeights) {
  const std::string type = GetParam();
  const std::string path = quantize_to(type);
  ASSERT_TRUE(fs::exists(path));
  if (type != "q4_1") {
    // Rows of 1536 (ffn_down) take the K-quant; rows of 576 fall back as llama.cpp does.
    GgufFile g = load_gguf(path);
    int kquant = 0;
    for (const auto& ti : g.tensor_infos) kquant += ti.supported && g.tensor(ti.name).dtype() == kquant_of(type);
    EXPECT_EQ(kquant, 30) << "one ffn_down per layer";
  }
  auto quant = models::load_llama_gguf(path);
  auto exact = models::load_llama_gguf(path, /*dequantize_weights=*/true);
  const auto ref = test::llm_ref("smollm2_refs.json");
  int checked = 0;
  double mean_rms = 0;
  for (const auto& p : ref["prompts"]) {
    const auto ids = p["ids"].get<std::vector<int32_t>>();
    auto c1 = quant->new_cache(256);
    auto c2 = exact->new_cache(256);
    Tensor lq = quant->forward(ids, *c1);
    Tensor le = exact->forward(ids, *c2);
    const float* a = lq.data<float>();
    const float* b = le.data<float>();
    const int64_t v = le.numel();
    double rms = 0;
    int64_t top = 0, second = -1, top_q = 0;
    for (int64_t i = 0; i < v; ++i) {
      rms += (a[i] - b[i]) * (a[i] - b[i]);
      if (a[i] > a[top_q]) top_q = i;
      if (b[i] > b[top]) {
        second = top;
        top = i;
      } else if (i != top && (second < 0 || b[i] > b[second])) {
        second = i;
      }
    }
    rms = std::sqrt(rms / static_cast<double>(v));
    std::printf("[%s] rms |dlogit| %.3f: %s\n", type.c_str(), rms, p["text"].get<std::string>().substr(0, 40).c_str());
    EXPECT_LT(rms, kKquantRmsTol) << p["text"];
    mean_rms += rms / static_cast<double>(ref["prompts"].size());
    if (b[top] - b[second] > kKquantMarginTol) {
      EXPECT_EQ(top_q, top) << p["text"];
      ++checked;
    }
  }
  EXPECT_LT(mean_rms, kMeanRmsTol);
  EXPECT_GE(checked, 1);
}

// The K-quant tensors our quantizer wrote, read back by the gguf package: its dequantization
// must equal ours bit for bit, and the quantization error must beat the gguf package's own
// (reference) quantizers of comparable size on the same weights: Q4_K (4.5 bits/weight) below
// Q4_0 (4.5), Q6_K (6.6) below Q5_0 (5.5).
class KQuantGguf : public KQuantModel {};

TEST_P(KQuantGguf, AgreesWithTheGgufPackage) {
  const std::string type = GetParam();
  const std::string path = quantize_to(type);
  const std::string python = FORGE_TEST_PYTHON;
  ASSERT_TRUE(fs::exists(python)) << "no test Python at " << python << "; run: bash scripts/setup.sh --test";
  const fs::path out = dir_ / ("check_" + type);
  fs::create_directories(out);
  const std::vector<std::string> names = {"blk.17.ffn_down.weight"};
  std::string cmd = fmt::format("'{}' '{}/../tools/gguf/check_kquant_file.py' '{}' '{}' '{}'", python,
                                FORGE_TEST_DATA_DIR, test::smollm2_path(), path, out.string());
  for (const auto& n : names) cmd += " " + n;
  ASSERT_EQ(std::system((cmd + " 2>&1").c_str()), 0)
      << cmd << " (if a module is missing: bash scripts/setup.sh --test)";
  std::ifstream rin(out / "report.json");
  const auto report = nlohmann::json::parse(rin);
  GgufFile g = load_gguf(path);
  for (const auto& n : names) {
    Tensor q = g.tensor(n);
    ASSERT_EQ(q.dtype(), kquant_of(type)) << n;
    Tensor ours = dequantize(q).contiguous();
    std::ifstream in(out / (n + ".deq.f32"), std::ios::binary);
    std::vector<float> theirs(static_cast<size_t>(ours.numel()));
    in.read(reinterpret_cast<char*>(theirs.data()), static_cast<std::streamsize>(theirs.size() * sizeof(float)));
    ASSERT_TRUE(in.good()) << n;
    EXPECT_EQ(std::memcmp(theirs.data(), ours.data<float>(), theirs.size() * sizeof(float)), 0)
        << n << ": gguf's dequantization differs from ours";
    const auto& r = report[n];
    std::printf("[%s] %s rms %.3g (gguf Q4_0 %.3g, Q5_0 %.3g, Q8_0 %.3g)\n", type.c_str(), n.c_str(),
                r["rms"].get<double>(), r["rms_Q4_0"].get<double>(), r["rms_Q5_0"].get<double>(),
                r["rms_Q8_0"].get<double>());
    EXPECT_EQ(r["type"], type == "q4_k" ? "Q4_K" : type == "q5_k" ? "Q5_K" : "Q6_K");
    EXPECT_GT(r["rms"].get<double>(), 0.0);
    EXPECT_LT(r["rms"].get<double>(), r[type == "q4_k" ? "rms_Q4_0" : "rms_Q5_0"].get<double>()) << n;
  }
}

// q4_1: the original file through the same check, the baseline the K-quant numbers compare to.
INSTANTIATE_TEST_SUITE_P(Types, KQuantModel, ::testing::Values("q4_k", "q5_k", "q6_k", "q4_1"));
INSTANTIATE_TEST_SUITE_P(Types, KQuantGguf, ::testing::Values("q4_k", "q5_k", "q6_k"));

}  // namespace
}  // namespace forge
