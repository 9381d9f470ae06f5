// Black-box tests of `forge tokenize` and `forge tokenizer train`.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

std::pair<int, std::string> run(const std::string& args) {
  const auto forge = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "forge";
  const std::string command = forge.string() + " " + args + " 2>&1";
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

TEST(CliTokenize, TrainThenTokenize) {
  const fs::path dir = fs::temp_directory_path() / ("forge_cli_tok_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream corpus(dir / "corpus.txt");
    for (int i = 0; i < 50; ++i) corpus << "the lowest newest widest tokens, the low new wide token\n";
  }
  const auto out = (dir / "tokenizer.json").string();
  auto [rc, text] =
      run("tokenizer train --vocab-size 270 --min-frequency 1 --out " + out + " " + (dir / "corpus.txt").string());
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("trained 270 tokens"), std::string::npos) << text;
  std::tie(rc, text) = run("tokenize --tokenizer " + out + " --ids 'the lowest' 'new'");
  ASSERT_EQ(rc, 0) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  std::tie(rc, text) = run("tokenize --tokenizer " + out + " 'the lowest'");
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find(" tokens\n"), std::string::npos) << text;
  EXPECT_NE(text.find("low"), std::string::npos) << text;
  fs::remove_all(dir);
}

TEST(CliTokenize, WordPieceVocabWithSpecialTokens) {
  const std::string vocab = std::string(FORGE_TEST_MODELS_DIR) + "/all-minilm-l6-v2/vocab.txt";
  auto [rc, text] = run("tokenize -t " + vocab + " --ids --special 'Hello, world!'");
  ASSERT_EQ(rc, 0) << text;
  EXPECT_EQ(text, "101 7592 1010 2088 999 102\n");
}

TEST(CliTokenize, Errors) {
  auto [rc, text] = run("tokenize -t /nonexistent/tokenizer.json hi");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("no such tokenizer file '/nonexistent/tokenizer.json'"), std::string::npos) << text;
  std::tie(rc, text) = run("tokenizer train --vocab-size 10 --out /tmp/x.json fortunes");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("vocab_size 10 is below"), std::string::npos) << text;
  std::tie(rc, text) = run("tokenizer train --out /tmp/x.json /nonexistent.txt");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("cannot open '/nonexistent.txt'"), std::string::npos) << text;
}

}  // namespace
}  // namespace forge
