#pragma once
// The Debian `fortunes` corpora as text data sets (no downloads):
//   English quotes by topic (package `fortunes`): one file per topic under
//   /usr/share/games/fortunes, quotes separated by lines holding only "%"; the `.dat`/`.u8`
//   companions and the Chinese files of `fortunes-zh` are skipped.
//   Chinese Tang and Song poems (package `fortunes-zh`): the files tang300 and song100 there.
// Files that are not valid UTF-8 are read as Latin-1 (and converted), as the classic files are.
#include <cstdint>
#include <string>
#include <vector>

namespace forge {

struct TextClassificationData {
  std::vector<std::string> texts;
  std::vector<int64_t> labels;           // index into label_names
  std::vector<std::string> label_names;  // sorted topic names
};

// Every English topic file, quotes in file order, topics sorted by name.
// Missing package: "[datasets] fortunes needs the Debian package fortunes: apt-get install fortunes".
TextClassificationData load_fortunes(const std::string& directory = "/usr/share/games/fortunes");

// The Chinese poems of fortunes-zh, one UTF-8 string per poem (tang300 then song100), with the
// files' ANSI colour codes removed.
std::vector<std::string> load_fortunes_zh(const std::string& directory = "/usr/share/games/fortunes");

// Splits one fortune file's text into its entries ("%" lines separate; entries are trimmed of
// surrounding blank lines and empty ones dropped).
std::vector<std::string> split_fortunes(const std::string& text);

}  // namespace forge
