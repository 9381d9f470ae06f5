// Black-box tests of `forge generate/chat/embed` on the pretrained test checkpoints.
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

const std::string kModels = FORGE_TEST_MODELS_DIR;
const std::string kSmol = kModels + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
const std::string kMiniLM = kModels + "/all-minilm-l6-v2";

// Runs `forge ARGS` (stdin from `input` via printf when given); returns exit code and stdout.
std::pair<int, std::string> run(const std::string& args, const std::string& input = "", bool with_stderr = true) {
  const auto forge = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "forge";
  std::string command = forge.string() + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  if (!input.empty()) command = "printf '" + input + "' | " + command;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  if (pipe == nullptr) return {-1, ""};
  std::string output;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

#define REQUIRE_CHECKPOINTS() \
  ASSERT_TRUE(fs::exists(kSmol) && fs::exists(kMiniLM)) << "run scripts/fetch_models.sh (models in " << kModels << ")"

TEST(CliPretrained, GenerateFromGguf) {
  REQUIRE_CHECKPOINTS();
  auto [rc, out] = run("generate " + kSmol + " -p 'The capital of France is' -t 0 -n 8 --no-prompt", "", false);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("Paris"), std::string::npos) << out;
}

TEST(CliPretrained, ChatPipedWithResetAndExit) {
  REQUIRE_CHECKPOINTS();
  auto [rc, out] = run("chat " + kSmol + " -t 0 -n 12 --repetition-penalty 1",
                       "What is the capital of France?\\n/reset\\nSay hi.\\n/exit\\nnever read\\n", false);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_GE(out.size(), 20u) << out;                            // two replies were streamed
  EXPECT_EQ(out.find("<|im_end|>"), std::string::npos) << out;  // the stop marker is not printed
  EXPECT_EQ(out.find("never read"), std::string::npos) << out;
}

TEST(CliPretrained, EmbedTextsAndStdin) {
  REQUIRE_CHECKPOINTS();
  auto [rc, out] =
      run("embed " + kMiniLM + " --text 'A man is playing guitar.' --text 'The cat sits outside.'", "", false);
  ASSERT_EQ(rc, 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["dim"], 384);
  ASSERT_EQ(j["data"].size(), 2u);
  EXPECT_EQ(j["data"][1]["text"], "The cat sits outside.");
  double norm = 0.0;
  for (double v : j["data"][0]["embedding"]) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-4);
  auto [rc2, out2] = run("embed " + kMiniLM + " --no-text", "first line\\nsecond line\\n", false);
  ASSERT_EQ(rc2, 0) << out2;
  const auto j2 = nlohmann::json::parse(out2);
  EXPECT_EQ(j2["data"].size(), 2u);
  EXPECT_FALSE(j2["data"][0].contains("text"));
}

TEST(CliPretrained, Errors) {
  REQUIRE_CHECKPOINTS();
  auto [rc, out] = run("chat /nonexistent/model.gguf", "hi\\n");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("/nonexistent/model.gguf"), std::string::npos) << out;
  std::tie(rc, out) = run("embed " + kSmol + " --text hi");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("error:"), std::string::npos) << out;
  std::tie(rc, out) = run("embed " + kMiniLM, "");
  EXPECT_NE(rc, 0);
  EXPECT_NE(out.find("no input"), std::string::npos) << out;
}

}  // namespace
}  // namespace forge
