// Black-box tests of `forge generate/chat/embed` on the pretrained test checkpoints.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/cli_util.h"
#include "llm/llm_test_util.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

using test::pair_of;
using test::run_forge;
using test::Stderr;

TEST(CliPretrained, GenerateFromGguf) {
  FORGE_REQUIRE_MODELS();
  auto [rc, out] = run_forge(
      "generate " + test::smollm2_path() + " -p 'The capital of France is' -t 0 -n 8 --no-prompt", "", Stderr::drop);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Paris"), std::string::npos) << out;
}

TEST(CliPretrained, ChatPipedWithResetAndExit) {
  FORGE_REQUIRE_MODELS();
  auto [rc, out] =
      run_forge("chat " + test::smollm2_path() + " -t 0 -n 12 --repetition-penalty 1",
                "printf 'What is the capital of France?\\n/reset\\nSay hi.\\n/exit\\nnever read\\n' |", Stderr::drop);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_GE(out.size(), 20u) << out;                            // two replies were streamed
  EXPECT_EQ(out.find("<|im_end|>"), std::string::npos) << out;  // the stop marker is not printed
  EXPECT_EQ(out.find("never read"), std::string::npos) << out;
}

TEST(CliPretrained, EmbedTextsAndStdin) {
  FORGE_REQUIRE_MODELS();
  auto [rc, out] =
      run_forge("embed " + test::minilm_dir() + " --text 'A man is playing guitar.' --text 'The cat sits outside.'", "",
                Stderr::drop);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["dim"], 384);
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["text"], "The cat sits outside.");
  double norm = 0.0;
  for (double v : j["data"][0]["embedding"]) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-4);
  auto [rc2, out2] =
      run_forge("embed " + test::minilm_dir() + " --no-text", "printf 'first line\\nsecond line\\n' |", Stderr::drop);
  ASSERT_EQ(rc2, 0) << out2;
  const auto j2 = nlohmann::json::parse(out2);
  EXPECT_EQ(j2["data"].size(), 2u);
  EXPECT_FALSE(j2["data"][0].contains("text"));
}

TEST(CliPretrained, Errors) {
  FORGE_REQUIRE_MODELS();
  auto [rc, out] = run_forge("chat /nonexistent/model.gguf", "printf 'hi\\n' |");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("/nonexistent/model.gguf"), std::string::npos) << out;
  std::tie(rc, out) = pair_of(run_forge("embed " + test::smollm2_path() + " --text hi"));
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("error:"), std::string::npos) << out;
  std::tie(rc, out) = pair_of(run_forge("embed " + test::minilm_dir(), "printf '' |"));
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("no input"), std::string::npos) << out;
}

}  // namespace
}  // namespace forge
