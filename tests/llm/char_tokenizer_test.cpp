#include <filesystem>

#include "core/random.h"
#include "test_util.h"
#include "text/char_tokenizer.h"

namespace forge::text {
namespace {

TEST(CharTokenizer, RoundTripsUtf8IncludingChineseAndEmoji) {
  const std::string corpus = "Hello, world!\n床前明月光 😀 é";
  auto tok = CharTokenizer::fit(corpus);
  EXPECT_EQ(tok->kind(), "char");
  EXPECT_EQ(tok->decode(tok->encode(corpus)), corpus);
  EXPECT_EQ(tok->encode("床").size(), 1u);
  EXPECT_EQ(tok->encode("😀").size(), 1u);
  // ids follow code-point order
  EXPECT_LT(*tok->token_to_id("\n"), *tok->token_to_id("H"));
  EXPECT_EQ(tok->decode_next({}, *tok->token_to_id("光")), "光");
}

TEST(CharTokenizer, RandomCodePointsRoundTrip) {
  Generator gen(5);
  std::string s;
  for (int i = 0; i < 500; ++i) {
    uint32_t cp = static_cast<uint32_t>(gen.below(0x10FFFF));
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  auto tok = CharTokenizer::fit(s);
  EXPECT_EQ(tok->decode(tok->encode(s)), s);
}

TEST(CharTokenizer, SaveLoad) {
  auto tok = CharTokenizer::fit("abc 明", true);
  const auto path = (std::filesystem::temp_directory_path() / "forge_char_tok_test.json").string();
  tok->save(path);
  auto back = CharTokenizer::load(path);
  EXPECT_EQ(back->vocab_size(), tok->vocab_size());
  EXPECT_EQ(back->encode("c明a"), tok->encode("c明a"));
  EXPECT_EQ(back->special_tokens().unk, std::optional<int32_t>(0));
  EXPECT_EQ(back->encode("z"), std::vector<int32_t>{0});
  std::filesystem::remove(path);
}

TEST(CharTokenizer, Errors) {
  auto tok = CharTokenizer::fit("abc");
  EXPECT_THROW_MSG(tok->encode("abz"), "character \"z\" at byte 2 is not in the vocabulary");
  EXPECT_THROW_MSG(tok->encode("a\xff"), "[utf8] invalid UTF-8 at byte 1");
  EXPECT_THROW_MSG(tok->encode("\xe5\xba"), "invalid UTF-8 at byte 0");
  EXPECT_THROW_MSG(tok->encode("\xc0\x80"), "overlong");
  EXPECT_THROW_MSG(tok->id_to_token(3), "id 3 is out of range for vocabulary size 3");
  EXPECT_THROW_MSG(CharTokenizer::fit(""), "cannot fit on an empty text");
  EXPECT_THROW_MSG(CharTokenizer::load("/nonexistent/tok.json"), "cannot open /nonexistent/tok.json");
}

}  // namespace
}  // namespace forge::text
