#include <cctype>

#include "data/gzip.h"
#include "data/image.h"
#include "data/text.h"
#include "temp_files.h"
#include "test_util.h"

#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace forge {
namespace {

using test::write_temp;

TEST(Text, LinesCrlfBlankAndBom) {
  const auto path = write_temp("t.txt", "\xEF\xBB\xBFhello\r\n\nwörld ✓\nlast");
  EXPECT_EQ(read_lines(path), (std::vector<std::string>{"hello", "", "wörld ✓", "last"}));
  EXPECT_EQ(read_lines(path, {.skip_blank = true}), (std::vector<std::string>{"hello", "wörld ✓", "last"}));
  EXPECT_TRUE(split_lines("", "e").empty());
  EXPECT_EQ(split_lines("a\n", "e"), (std::vector<std::string>{"a"}));
}

TEST(Text, InvalidUtf8NamesLineAndColumn) {
  const auto path = write_temp("bad.txt",
                               "ok\nfine\nab\xff"
                               "cd\n");
  EXPECT_THROW_MSG(read_lines(path), "[text] " + path + ":3:3: invalid UTF-8 (byte 0xff)");
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);            // overlong '/'
  EXPECT_EQ(find_invalid_utf8("a\xED\xA0\x80"), 1u);       // UTF-16 surrogate
  EXPECT_EQ(find_invalid_utf8("ab\xF4\x90\x80\x80"), 2u);  // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("x\xE2\x82"), 1u);           // truncated sequence
  EXPECT_EQ(find_invalid_utf8("\x80"), 0u);                // lone continuation byte
  EXPECT_EQ(find_invalid_utf8("€ 𝄞 ok"), std::string_view::npos);
}

class Upper : public TextTransform {
 public:
  std::string name() const override { return "upper"; }
  std::string apply(std::string_view line) const override {
    std::string s(line);
    for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }
};

TEST(Text, TransformsApplyPerLine) {
  TextOptions options;
  options.transforms.push_back(std::make_shared<Upper>());
  EXPECT_EQ(split_lines("ab\ncd", "m", options), (std::vector<std::string>{"AB", "CD"}));
}

void write_png(const std::string& path, int w, int h, int c, const std::vector<unsigned char>& pixels) {
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, c, pixels.data(), w * c), 0);
}

TEST(Image, PngDecodesToChwInUnitRange) {
  const std::string path = test::temp_dir() + "/rgb.png";
  // 2x3 RGB image, interleaved HWC: pixel (r, c) = (10 r + c, 100, 255 - c).
  std::vector<unsigned char> pixels;
  for (int r = 0; r < 2; ++r) {
    for (int c = 0; c < 3; ++c)
      pixels.insert(pixels.end(), {static_cast<unsigned char>(10 * r + c), 100, static_cast<unsigned char>(255 - c)});
  }
  write_png(path, 3, 2, 3, pixels);
  const Tensor img = load_image(path);
  ASSERT_EQ(img.shape(), (Shape{3, 2, 3}));
  const auto v = img.to_vector<float>();
  EXPECT_FLOAT_EQ(v[0 * 6 + 1 * 3 + 2], 12 / 255.0f);  // channel 0, row 1, col 2
  EXPECT_FLOAT_EQ(v[1 * 6 + 0], 100 / 255.0f);
  EXPECT_FLOAT_EQ(v[2 * 6 + 0], 1.0f);
  const Tensor gray = load_image(path, 1);
  EXPECT_EQ(gray.shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(load_image(path, 4).shape(), (Shape{4, 2, 3}));
  // Decoding from memory: the same bytes through a ByteSource.
  auto file = open_file(path);
  std::vector<uint8_t> bytes(file->data(), file->data() + file->size());
  EXPECT_TRUE(test::all_close(decode_image(*memory_source("mem.png", bytes)), img));
}

TEST(Image, CorruptFilesFailClearly) {
  const auto garbage = write_temp("garbage.png", "this is not an image at all");
  EXPECT_THROW_MSG(load_image(garbage), "[image] " + garbage + ": cannot decode image: ");
  const auto empty_file = write_temp("empty.png", "");
  EXPECT_THROW_MSG(load_image(empty_file), "[image] " + empty_file + ": cannot decode image: the file is empty");
  // A valid PNG cut in half.
  const std::string path = test::temp_dir() + "/full.png";
  write_png(path, 8, 8, 1, std::vector<unsigned char>(64, 7));
  auto file = open_file(path);
  std::vector<uint8_t> half(file->data(), file->data() + file->size() / 2);
  EXPECT_THROW_MSG(decode_image(*memory_source("half.png", half)), "[image] half.png: cannot decode image: ");
  EXPECT_THROW_MSG(load_image(path, 2), "[image] channels must be 0 (as stored), 1, 3 or 4, got 2");
}

}  // namespace
}  // namespace forge
