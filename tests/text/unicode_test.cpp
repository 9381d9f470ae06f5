#include <gtest/gtest.h>

#include "text/unicode.h"

namespace forge::text {

TEST(Unicode, Utf8DecodeEncodeRoundTrip) {
  const std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";  // a é 中 😀
  const auto cps = utf8_decode(s);
  ASSERT_EQ(cps, (std::vector<uint32_t>{'a', 0xE9, 0x4E2D, 0x1F600}));
  std::string back;
  for (auto cp : cps) utf8_append(back, cp);
  EXPECT_EQ(back, s);
  EXPECT_TRUE(utf8_valid(s));
}

TEST(Unicode, InvalidBytesBecomeReplacementOneByteAtATime) {
  EXPECT_EQ(utf8_decode("\xFF" "a"), (std::vector<uint32_t>{0xFFFD, 'a'}));
  EXPECT_EQ(utf8_decode("\xE4\xB8"), (std::vector<uint32_t>{0xFFFD, 0xFFFD}));  // truncated
  EXPECT_EQ(utf8_decode("\xC0\xAF"), (std::vector<uint32_t>{0xFFFD, 0xFFFD}));  // overlong
  EXPECT_EQ(utf8_decode("\xED\xA0\x80").size(), 3u);                              // surrogate
  EXPECT_FALSE(utf8_valid("\xFF"));
  EXPECT_FALSE(utf8_valid("\xED\xA0\x80"));
  EXPECT_TRUE(utf8_valid("\xEF\xBF\xBD"));  // U+FFFD itself is valid
}

TEST(Unicode, Properties) {
  EXPECT_TRUE(is_letter('a'));
  EXPECT_TRUE(is_letter(0x4E2D));   // 中
  EXPECT_TRUE(is_letter(0xE9));     // é
  EXPECT_FALSE(is_letter('1'));
  EXPECT_FALSE(is_letter(0x1F600));  // emoji is a symbol
  EXPECT_TRUE(is_number('7'));
  EXPECT_TRUE(is_number(0x0663));   // Arabic-Indic three
  EXPECT_TRUE(is_number(0x2165));   // Roman numeral six (Nl)
  EXPECT_TRUE(is_whitespace(0x3000));
  EXPECT_TRUE(is_whitespace(0x85));
  EXPECT_FALSE(is_whitespace(0x200B));  // zero width space is not White_Space
  EXPECT_TRUE(is_punctuation(0x3002));  // 。
  EXPECT_FALSE(is_punctuation('$'));    // Sc, not P
  EXPECT_TRUE(is_control(0x200D));      // ZWJ is Cf
  EXPECT_TRUE(is_nonspacing_mark(0x301));
  EXPECT_TRUE(is_cjk(0x4E2D));
  EXPECT_FALSE(is_cjk(0x3042));  // hiragana
}

TEST(Unicode, LowercaseAndNfd) {
  std::vector<uint32_t> out;
  append_lowercase(out, 'A');
  append_lowercase(out, 0x130);  // İ -> i + combining dot
  append_lowercase(out, 0x3A3);  // Σ -> σ
  EXPECT_EQ(out, (std::vector<uint32_t>{'a', 'i', 0x307, 0x3C3}));
  out.clear();
  append_nfd(out, 0xE9);    // é -> e + acute
  append_nfd(out, 0x1E69);  // ṩ -> s + dot below + dot above
  append_nfd(out, 0xD55C);  // 한 -> Hangul jamo
  EXPECT_EQ(out, (std::vector<uint32_t>{'e', 0x301, 's', 0x323, 0x307, 0x1112, 0x1161, 0x11AB}));
}

}  // namespace forge::text
