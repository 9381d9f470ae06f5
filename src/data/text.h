#pragma once
// Text files: lines of validated UTF-8, read through open_file() (gzip'd files are
// decompressed). Per-line preprocessing (PII masking, normalization) plugs in as TextTransforms.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace forge {

// A per-line text preprocessing step (e.g. PII masking). Implementations must be safe to
// call from several threads.
class TextTransform {
 public:
  virtual ~TextTransform() = default;
  virtual std::string name() const = 0;
  virtual std::string apply(std::string_view line) const = 0;
};

struct TextOptions {
  bool skip_blank = false;  // drop lines that are empty (after removing the line end)
  std::vector<std::shared_ptr<const TextTransform>> transforms{};  // applied in order to each line
};

// Byte offset of the first invalid UTF-8 sequence in `text` (overlong forms, surrogates and
// code points above U+10FFFF are invalid), or npos when it is all valid.
size_t find_invalid_utf8(std::string_view text);

// Splits text into lines (LF or CRLF; a final line end is optional), validating UTF-8. Throws
// "[text] NAME:LINE:COLUMN: invalid UTF-8 (byte 0xff)"; `name` is used in messages.
std::vector<std::string> split_lines(std::string_view text, const std::string& name, const TextOptions& options = {});
// Reads a text file's lines.
std::vector<std::string> read_lines(const std::string& path, const TextOptions& options = {});

}  // namespace forge
