#include "data/fortunes.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util.h"

namespace forge {
namespace {

TEST(Fortunes, SplitsOnPercentLinesAndTrims) {
  auto e = split_fortunes("\nfirst\nquote\n%\n%\n  \nsecond\n\n%\r\nthird\r\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0], "first\nquote");
  EXPECT_EQ(e[1], "second");
  EXPECT_EQ(e[2], "third");
  EXPECT_TRUE(split_fortunes("%\n%\n").empty());
}

TEST(Fortunes, LoadsEnglishTopicsAndSkipsCompanions) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "forge_fortunes_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "science") << "a\n%\nb\n";
  std::ofstream(dir / "art") << "caf\xe9\n";  // Latin-1
  std::ofstream(dir / "art.dat") << "binary";
  std::ofstream(dir / "tang300") << "poem";
  auto d = load_fortunes(dir.string());
  ASSERT_EQ(d.label_names, (std::vector<std::string>{"art", "science"}));
  ASSERT_EQ(d.texts.size(), 3u);
  EXPECT_EQ(d.texts[0], "caf\xc3\xa9");
  EXPECT_EQ(d.labels, (std::vector<int64_t>{0, 1, 1}));
  fs::remove_all(dir);
}

TEST(Fortunes, MissingPackageNamesTheInstallLine) {
  EXPECT_THROW_MSG(load_fortunes("/nonexistent/fortunes"), "apt-get install fortunes");
  EXPECT_THROW_MSG(load_fortunes_zh("/nonexistent/fortunes"), "apt-get install fortunes-zh");
}

TEST(Fortunes, RealCorpora) {
  auto d = load_fortunes();
  EXPECT_GT(d.texts.size(), 10000u);
  EXPECT_GE(d.label_names.size(), 30u);
  auto zh = load_fortunes_zh();
  EXPECT_GT(zh.size(), 300u);
  EXPECT_EQ(zh[0].find('\x1b'), std::string::npos);
  EXPECT_NE(zh[0].find("张九龄"), std::string::npos);
}

}  // namespace
}  // namespace forge
