// Black-box tests of `forge inspect` and `forge quantize` (runs build/forge).
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_util.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "llm/llm_test_util.h"
#include "ops/quant.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

using test::CliRun;
using test::run_forge;

fs::path temp_dir(const std::string& name) {
  fs::path d = fs::temp_directory_path() / fmt::format("forge_qcli_{}_{}", ::getpid(), name);
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

TEST(CliInspect, GgufTableAndJson) {
  CliRun run = run_forge("inspect " + test::smollm2_path());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("GGUF v3, 33 metadata entries, 272 tensors"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("llama.embedding_length                  u32            576"), std::string::npos);
  EXPECT_NE(run.output.find("(49152 items)"), std::string::npos);
  EXPECT_NE(run.output.find("token_embd.weight          Q8_0  (49152, 576)      30081024"), std::string::npos);
  EXPECT_NE(run.output.find("272 tensors, 134515008 parameters"), std::string::npos);

  run = run_forge("inspect --json " + test::smollm2_path(), "", test::Stderr::drop);
  ASSERT_EQ(run.exit_code, 0);
  auto j = nlohmann::json::parse(run.output);
  EXPECT_EQ(j["format"], "gguf");
  EXPECT_EQ(j["metadata"]["llama.block_count"], 30);
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.tokens"]["length"], 49152);
  EXPECT_EQ(j["tensors"].size(), 272u);
  EXPECT_EQ(j["tensors"][0]["shape"], (std::vector<int64_t>{49152, 576}));
  EXPECT_EQ(j["totals"]["bytes"], 96576768);
}

TEST(CliInspect, SafetensorsAndErrors) {
  CliRun run = run_forge("inspect " + test::minilm_dir());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("safetensors, 1 file"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("embeddings.word_embeddings.weight"), std::string::npos);
  const fs::path d = temp_dir("bad");
  std::ofstream(d / "bad.gguf") << "GGUF\x03";
  run = run_forge("inspect " + (d / "bad.gguf").string());
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("error: [gguf]"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("too short for a GGUF header"), std::string::npos) << run.output;
  fs::remove_all(d);
}

TEST(CliQuantize, SafetensorsDirToGguf) {
  const fs::path d = temp_dir("st");
  Tensor w = arange(0, 64 * 96).reshape({96, 64});
  Tensor w2 = full({8, 33}, 0.5);  // 33 is no multiple of 32: stays f32
  save_safetensors(
      (d / "model.safetensors").string(),
      {{"layer.weight", w}, {"layer.bias", ones({96})}, {"odd.weight", w2}, {"ln.norm.weight", ones({4, 64})}});
  std::ofstream(d / "config.json") << R"({"model_type": "tiny"})";
  const std::string out = (d / "out.gguf").string();
  CliRun run = run_forge("quantize " + d.string() + " " + out + " --type q4_0");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("[1/4] layer.bias"), std::string::npos) << run.output;
  GgufFile g = load_gguf(out);
  EXPECT_EQ(g.architecture(), "tiny");
  EXPECT_EQ(g.get_int("general.file_type", 0), 2);
  EXPECT_EQ(g.info("layer.weight").dtype, DType::kQ4_0);
  EXPECT_EQ(g.info("layer.bias").dtype, DType::kF32);
  EXPECT_EQ(g.info("odd.weight").dtype, DType::kF32);
  EXPECT_EQ(g.info("ln.norm.weight").dtype, DType::kF32);
  Tensor back = dequantize(g.tensor("layer.weight"));
  Tensor ref = dequantize(quantize(w, DType::kQ4_0));
  for (int64_t i = 0; i < back.numel(); ++i) ASSERT_EQ(back.data<float>()[i], ref.data<float>()[i]);

  run = run_forge("quantize " + d.string() + " " + out + " --type q3_k");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("unknown --type 'q3_k'"), std::string::npos) << run.output;
  fs::remove_all(d);
}

TEST(CliQuantize, GgufToGgufKeepsMetadata) {
  const fs::path d = temp_dir("gg");
  const std::string out = (d / "smol_q8.gguf").string();
  CliRun run = run_forge("quantize " + test::smollm2_path() + " " + out + " --type q8_0");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  GgufFile src = load_gguf(test::smollm2_path());
  GgufFile g = load_gguf(out);
  EXPECT_EQ(g.tensor_infos.size(), 272u);
  EXPECT_EQ(g.at("tokenizer.ggml.merges").as_strings(), src.at("tokenizer.ggml.merges").as_strings());
  EXPECT_EQ(g.get_int("general.file_type", 0), 7);
  EXPECT_EQ(g.info("blk.0.attn_q.weight").dtype, DType::kQ8_0);
  EXPECT_EQ(g.info("blk.0.attn_norm.weight").dtype, DType::kF32);
  // q4_1 -> q8_0 keeps the values to 8-bit precision
  Tensor a = dequantize(src.tensor("blk.0.attn_q.weight"));
  Tensor b = dequantize(g.tensor("blk.0.attn_q.weight"));
  float max_abs = 0, max_err = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    max_abs = std::max(max_abs, std::fabs(a.data<float>()[i]));
    max_err = std::max(max_err, std::fabs(a.data<float>()[i] - b.data<float>()[i]));
  }
  EXPECT_LT(max_err, max_abs / 100);
  fs::remove_all(d);
}

}  // namespace
}  // namespace forge
