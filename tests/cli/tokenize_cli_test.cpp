// Black-box tests of `forge tokenize` and `forge tokenizer train`.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli/cli_util.h"
#include "llm/llm_test_util.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using test::pair_of;
using test::run_forge;

TEST(CliTokenize, TrainThenTokenize) {
  const fs::path dir = fs::temp_directory_path() / ("forge_cli_tok_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  {
    std::ofstream corpus(dir / "corpus.txt");
    for (int i = 0; i < 50; ++i) corpus << "the lowest newest widest tokens, the low new wide token\n";
  }
  const auto out = (dir / "tokenizer.json").string();
  auto [rc, text] = run_forge("tokenizer train --vocab-size 270 --min-frequency 1 --out " + out + " " +
                              (dir / "corpus.txt").string());
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("trained 270 tokens"), std::string::npos) << text;
  std::tie(rc, text) = pair_of(run_forge("tokenize --tokenizer " + out + " --ids 'the lowest' 'new'"));
  ASSERT_EQ(rc, 0) << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  std::tie(rc, text) = pair_of(run_forge("tokenize --tokenizer " + out + " 'the lowest'"));
  ASSERT_EQ(rc, 0) << text;
  EXPECT_NE(text.find(" tokens\n"), std::string::npos) << text;
  EXPECT_NE(text.find("low"), std::string::npos) << text;
  fs::remove_all(dir);
}

TEST(CliTokenize, WordPieceVocabWithSpecialTokens) {
  const std::string vocab = test::minilm_dir() + "/vocab.txt";
  auto [rc, text] = run_forge("tokenize -t " + vocab + " --ids --special 'Hello, world!'");
  ASSERT_EQ(rc, 0) << text;
  EXPECT_EQ(text, "101 7592 1010 2088 999 102\n");
}

TEST(CliTokenize, Errors) {
  auto [rc, text] = run_forge("tokenize -t /nonexistent/tokenizer.json hi");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("no such tokenizer file '/nonexistent/tokenizer.json'"), std::string::npos) << text;
  std::tie(rc, text) = pair_of(run_forge("tokenizer train --vocab-size 10 --out /tmp/x.json fortunes"));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("vocab_size 10 is below"), std::string::npos) << text;
  std::tie(rc, text) = pair_of(run_forge("tokenizer train --out /tmp/x.json /nonexistent.txt"));
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("cannot open '/nonexistent.txt'"), std::string::npos) << text;
}

}  // namespace
}  // namespace forge
