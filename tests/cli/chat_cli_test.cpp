// `forge chat` keeps its KV cache across turns (--stats shows what was reused and prefilled),
// answers the same without reuse, and drops old turns with a notice when the context is full.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "cli/cli_util.h"

namespace forge {
namespace {

const std::string kSmol = std::string(FORGE_TEST_MODELS_DIR) + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";

struct Stats {
  int prompt, reused, prefilled;
};

std::vector<Stats> stats_of(const std::string& out) {
  static const std::regex re(R"(\[prompt (\d+) tokens \((\d+) reused from the cache, (\d+) prefilled\))");
  std::vector<Stats> s;
  for (auto it = std::sregex_iterator(out.begin(), out.end(), re); it != std::sregex_iterator(); ++it) {
    s.push_back({std::stoi((*it)[1]), std::stoi((*it)[2]), std::stoi((*it)[3])});
  }
  return s;
}

// The replies alone (the --stats lines, which carry timings, removed).
std::string replies_of(const std::string& out) {
  static const std::regex stats(R"(\[prompt [^\]]*\]\n?)");
  return std::regex_replace(out, stats, "");
}

// `forge chat ARGS` with the given user turns on stdin (stdout and stderr together).
test::CliRun chat(const std::string& args, const std::string& turns) {
  return test::run_forge("chat '" + kSmol + "' " + args, "printf '" + turns + "' |");
}

TEST(CliChat, SecondTurnPrefillsOnlyTheNewTokens) {
  ASSERT_TRUE(std::filesystem::exists(kSmol)) << "run scripts/fetch_models.sh";
  const std::string turns = "What is the capital of France?\\nAnd of Italy?\\n";
  const auto reuse = chat("-t 0 -n 10 --stats", turns);
  const auto fresh = chat("-t 0 -n 10 --stats --no-cache-reuse", turns);
  ASSERT_EQ(reuse.exit_code, 0) << reuse.output;
  ASSERT_EQ(fresh.exit_code, 0) << fresh.output;
  const auto r = stats_of(reuse.output), f = stats_of(fresh.output);
  ASSERT_EQ(r.size(), 2u) << reuse.output;
  ASSERT_EQ(f.size(), 2u) << fresh.output;
  // The first replies are the same; the second ones too unless a near-tie meets the quantized
  // path's decode-vs-prefill rounding, so their identity is checked on the f32 model instead
  // (tests/llm/chat_session_test.cpp).
  const std::string first_reuse = replies_of(reuse.output), first_fresh = replies_of(fresh.output);
  EXPECT_EQ(first_reuse.substr(0, first_reuse.find('\n')), first_fresh.substr(0, first_fresh.find('\n')));
  EXPECT_EQ(r[0].reused, 0);
  EXPECT_EQ(r[1].prompt, f[1].prompt);
  // Turn 2 reuses turn 1's prompt and reply, and prefills the rest only.
  EXPECT_GE(r[1].reused, r[0].prompt);
  EXPECT_EQ(r[1].prefilled, r[1].prompt - r[1].reused);
  EXPECT_LT(r[1].prefilled, 30);
  EXPECT_EQ(f[1].reused, 0);
  EXPECT_EQ(f[1].prefilled, f[1].prompt);
}

TEST(CliChat, DropsOldTurnsWithANotice) {
  ASSERT_TRUE(std::filesystem::exists(kSmol)) << "run scripts/fetch_models.sh";
  const auto run = chat("-t 0 -n 8 --context 120",
                        "Tell me about the sea.\\nTell me about the sky.\\nTell me about the land.\\nAnd rivers?\\n");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("dropped the oldest"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("context of 120 tokens"), std::string::npos) << run.output;
  // A message that cannot fit even alone is an error for that turn; the chat goes on.
  std::string long_turn;
  for (int i = 0; i < 150; ++i) long_turn += "word ";
  const auto too_long = chat("-t 0 -n 4 --context 64", long_turn + "\\nHi\\n");
  ASSERT_EQ(too_long.exit_code, 0) << too_long.output;
  EXPECT_NE(too_long.output.find("error: [chat] the message needs"), std::string::npos) << too_long.output;
}

}  // namespace
}  // namespace forge
