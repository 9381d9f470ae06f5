// The BPE tokenizer's compact tables (text/token_table.h): the tables themselves, encodings equal
// to a textbook string-map BPE on varied text (SmolLM2's 49k vocabulary and a trained one), and
// the heap the SmolLM2 tokenizer keeps (it was ~11 MB of std::string maps).
#include <gtest/gtest.h>
#include <malloc.h>

#include <filesystem>
#include <map>
#include <random>

#include "data/fortunes.h"
#include "formats/gguf.h"
#include "models/checkpoint_tokenizer.h"
#include "text/bpe.h"
#include "text/pretokenize.h"
#include "text/token_table.h"
#include "text_test_util.h"

namespace forge::text {
namespace {

TEST(TokenTable, StringPoolKeepsEveryString) {
  StringPool pool;
  const std::vector<std::string> strings = {"", "Ġthe", "", "a", std::string("x\0y", 3), "中文"};
  for (const auto& s : strings) pool.push_back(s);
  pool.shrink_to_fit();
  ASSERT_EQ(pool.size(), strings.size());
  for (size_t i = 0; i < strings.size(); ++i) EXPECT_EQ(pool[i], strings[i]) << i;
}

TEST(TokenTable, TokenIndexFindsExactKeysOnly) {
  std::unordered_map<std::string, int32_t> map = {{"a", 3}, {"ab", 7}, {"", 9}, {"abc", 0}};
  for (int i = 0; i < 5000; ++i) map.emplace(std::string("t").append(std::to_string(i)), 100 + i);
  const TokenIndex index(map);
  EXPECT_EQ(index.size(), map.size());
  for (const auto& [key, id] : map) EXPECT_EQ(index.find(key), id) << key;
  EXPECT_EQ(index.find("abcd"), std::nullopt);
  EXPECT_EQ(index.find("b"), std::nullopt);
  EXPECT_EQ(index.find("t5000"), std::nullopt);
  EXPECT_EQ(TokenIndex().find("a"), std::nullopt);
}

TEST(TokenTable, MergeTableKeepsTheLowestRankOfARepeatedPair) {
  MergeTable merges;
  EXPECT_EQ(merges.rank(1, 2), -1);
  std::map<std::pair<int32_t, int32_t>, int32_t> expected;
  std::mt19937 rng(7);
  for (int32_t r = 0; r < 20000; ++r) {  // grows the slot table many times; repeats pairs
    const int32_t a = std::uniform_int_distribution<int32_t>(0, 300)(rng);
    const int32_t b = std::uniform_int_distribution<int32_t>(0, 300)(rng);
    merges.add(a, b, r + 1000);
    expected.emplace(std::make_pair(a, b), r);
  }
  ASSERT_EQ(merges.size(), 20000u);
  ASSERT_LT(expected.size(), 20000u);  // some pairs were listed twice
  for (const auto& [pair, rank] : expected) {
    ASSERT_EQ(merges.rank(pair.first, pair.second), rank);
    EXPECT_EQ(merges[static_cast<size_t>(rank)].merged, rank + 1000);
  }
  EXPECT_EQ(merges.rank(301, 0), -1);
  EXPECT_EQ(merges.rank(-1, 5), -1);
}

// Byte-level BPE as the textbook states it, on strings: each piece's bytes become their byte-level
// characters (bytes without a token are dropped), then the adjacent pair of lowest merge rank
// (leftmost among equals) is joined until none has a rank.
class ReferenceBpe {
 public:
  ReferenceBpe(const std::vector<std::string>& tokens, const std::vector<std::pair<std::string, std::string>>& merges,
               PreTokenizer pre)
      : pre_(pre) {
    for (size_t i = 0; i < tokens.size(); ++i) vocab_.emplace(tokens[i], static_cast<int32_t>(i));
    for (size_t r = 0; r < merges.size(); ++r) rank_.emplace(merges[r], r);
  }
  std::vector<int32_t> encode(std::string_view text) const {
    std::vector<int32_t> ids;
    for (const auto& [b, e] : pre_tokenize(pre_, text)) {
      std::vector<std::string> symbols;
      for (char ch : text.substr(b, e - b)) {
        const std::string s = byte_to_unicode()[static_cast<unsigned char>(ch)];
        if (vocab_.count(s)) symbols.push_back(s);
      }
      while (symbols.size() > 1) {
        size_t best = SIZE_MAX, at = 0;
        for (size_t i = 0; i + 1 < symbols.size(); ++i) {
          auto it = rank_.find({symbols[i], symbols[i + 1]});
          if (it != rank_.end() && it->second < best) {
            best = it->second;
            at = i;
          }
        }
        if (best == SIZE_MAX) break;
        symbols[at] += symbols[at + 1];
        symbols.erase(symbols.begin() + static_cast<std::ptrdiff_t>(at) + 1);
      }
      for (const auto& s : symbols) ids.push_back(vocab_.at(s));
    }
    return ids;
  }

 private:
  PreTokenizer pre_;
  std::map<std::string, int32_t> vocab_;
  std::map<std::pair<std::string, std::string>, size_t> rank_;
};

// Prose, code, numbers, CJK, emoji, random UTF-8 (invalid bytes too) and pieces long enough for the
// heap merge (over 48 symbols).
std::vector<std::string> varied_texts() {
  std::vector<std::string> texts = {
      "The history of the printing press begins in 1440.",
      "  def f(x):\n\treturn x**2  # squares\r\n",
      "naïve café, Ærøskøbing; ¿Qué? 12345678901234567890",
      "中文文本和日本語のテキスト、한국어 텍스트 😀🎉👍🏽",
      std::string(300, 'a').append(" ").append(120, '=').append("abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc"),
      "bad bytes \xFF\xFE\x80 here",
      "supercalifragilisticexpialidocious_antidisestablishmentarianism_pneumonoultramicroscopicsilicovolcanoconiosis",
  };
  const auto fortunes = load_fortunes();
  for (size_t i = 0; i < 200 && i < fortunes.texts.size(); ++i)
    texts.push_back(fortunes.texts[i * 7 % fortunes.texts.size()]);
  std::mt19937 rng(11);
  for (int i = 0; i < 200; ++i) texts.push_back(test::random_utf8(rng, 60));
  return texts;
}

std::vector<std::pair<std::string, std::string>> split_merges(const std::vector<std::string>& merges) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& m : merges) {
    const size_t space = m.find(' ', 1);
    out.emplace_back(m.substr(0, space), m.substr(space + 1));
  }
  return out;
}

std::string smollm2_path() { return test::models_dir() + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf"; }

TEST(BpeCompact, SmolLm2EncodesAsTheStringMapReference) {
  ASSERT_TRUE(std::filesystem::exists(smollm2_path())) << "run scripts/fetch_models.sh";
  const GgufFile file = load_gguf(smollm2_path());
  const auto tokens = file.at("tokenizer.ggml.tokens").as_strings();
  const auto merges = split_merges(file.at("tokenizer.ggml.merges").as_strings());
  const ReferenceBpe reference(tokens, merges, PreTokenizer::kSmolLm);
  const auto tok = std::static_pointer_cast<const BpeTokenizer>(models::tokenizer_from_gguf(file));
  EXPECT_EQ(tok->merges(), merges);
  for (size_t id = 0; id < tokens.size(); id += 97) {
    EXPECT_EQ(tok->id_to_token(static_cast<int32_t>(id)), tokens[id]);
    EXPECT_EQ(tok->token_to_id(tokens[id]), static_cast<int32_t>(id));
  }
  EXPECT_EQ(tok->token_to_id("no such token here"), std::nullopt);
  size_t compared = 0;
  for (const auto& text : varied_texts()) {
    ASSERT_EQ(tok->encode(text), reference.encode(text)) << text;
    EXPECT_LE(tok->decode(tok->encode(text)).size(), text.size());  // only missing bytes dropped
    ++compared;
  }
  EXPECT_GT(compared, 400u);
}

TEST(BpeCompact, TrainedTokenizerEncodesAsTheReferenceAndSurvivesJson) {
  auto en = load_fortunes();
  std::vector<std::string> corpus(en.texts.begin(), en.texts.begin() + 2000);
  BpeTrainOptions options;
  options.vocab_size = 1200;
  options.special_tokens = {"<|endoftext|>"};
  const auto trained = BpeTokenizer::train(corpus, options);
  std::vector<std::string> tokens;
  for (int32_t id = 0; id < trained->vocab_size(); ++id) tokens.push_back(trained->id_to_token(id));
  const ReferenceBpe reference(tokens, trained->merges(), PreTokenizer::kGpt2);
  const auto reloaded = BpeTokenizer::from_json(nlohmann::json::parse(trained->to_json()), "trained");
  EXPECT_EQ(reloaded->merges(), trained->merges());
  EXPECT_EQ(nlohmann::json::parse(reloaded->to_json())["model"], nlohmann::json::parse(trained->to_json())["model"]);
  for (const auto& text : varied_texts()) {
    const auto ids = trained->encode(text);
    ASSERT_EQ(ids, reference.encode(text)) << text;
    ASSERT_EQ(reloaded->encode(text), ids) << text;
    ASSERT_EQ(trained->decode(ids), text);  // a trained vocabulary has all 256 byte tokens
  }
}

// The heap the SmolLM2 tokenizer keeps once built (the GGUF arrays it was built from excluded).
TEST(BpeCompact, SmolLm2TokenizerHeapIsSmall) {
  ASSERT_TRUE(std::filesystem::exists(smollm2_path())) << "run scripts/fetch_models.sh";
  const GgufFile file = load_gguf(smollm2_path());
  const size_t before = ::mallinfo2().uordblks;
  auto tok = models::tokenizer_from_gguf(file);
  const size_t after = ::mallinfo2().uordblks;
  const double mib = static_cast<double>(after - before) / (1 << 20);
  std::printf("[ bpe ] SmolLM2 tokenizer keeps %.2f MiB of heap\n", mib);
  EXPECT_LT(mib, 4.0);  // the std::string maps took ~11 MiB
  EXPECT_EQ(tok->vocab_size(), 49152);
}

}  // namespace
}  // namespace forge::text
