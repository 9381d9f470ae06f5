#include "data/fortunes.h"

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/error.h"
#include "data/text.h"
#include "formats/byte_source.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

// The fortunes-zh files share the folder with the English topics.
const std::set<std::string> kChineseFiles = {"chinese", "tang300", "song100"};

std::string latin1_to_utf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

std::string read_text(const fs::path& path) {
  auto src = open_file(path.string());
  std::string_view bytes(reinterpret_cast<const char*>(src->data()), src->size());
  if (find_invalid_utf8(bytes) == std::string_view::npos) return std::string(bytes);
  return latin1_to_utf8(bytes);
}

void require_dir(const std::string& directory, const std::string& what, const std::string& package,
                 const std::string& probe) {
  FORGE_CHECK(fs::is_directory(directory) && fs::exists(fs::path(directory) / probe),
              "[datasets] {} needs the Debian package {}: apt-get install {} (looked in {})", what, package,
              package, directory);
}

// Drops ANSI colour sequences (ESC '[' ... letter); the fortunes-zh files colour titles.
std::string strip_ansi(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b' && i + 1 < text.size() && text[i + 1] == '[') {
      size_t j = i + 2;
      while (j < text.size() && !((text[j] >= 'A' && text[j] <= 'Z') || (text[j] >= 'a' && text[j] <= 'z'))) ++j;
      i = j;  // skips the final letter too
      continue;
    }
    out.push_back(text[i]);
  }
  return out;
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

std::vector<std::string> split_fortunes(const std::string& text) {
  std::vector<std::string> entries;
  std::vector<std::string_view> lines;
  auto flush = [&] {
    size_t first = 0, last = lines.size();
    while (first < last && is_blank(lines[first])) ++first;
    while (last > first && is_blank(lines[last - 1])) --last;
    if (first < last) {
      std::string entry;
      for (size_t i = first; i < last; ++i) {
        std::string_view l = lines[i];
        if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
        if (i > first) entry.push_back('\n');
        entry.append(l);
      }
      entries.push_back(std::move(entry));
    }
    lines.clear();
  };
  std::string_view rest(text);
  while (!rest.empty()) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    std::string_view bare = line;
    if (!bare.empty() && bare.back() == '\r') bare.remove_suffix(1);
    if (bare == "%") {
      flush();
    } else {
      lines.push_back(line);
    }
  }
  flush();
  return entries;
}

TextClassificationData load_fortunes(const std::string& directory) {
  require_dir(directory, "fortunes", "fortunes", "science");
  std::vector<std::string> topics;
  for (const auto& entry : fs::directory_iterator(directory)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_regular_file() || name.find('.') != std::string::npos || kChineseFiles.count(name)) continue;
    topics.push_back(name);
  }
  std::sort(topics.begin(), topics.end());
  TextClassificationData data;
  for (const auto& topic : topics) {
    auto quotes = split_fortunes(read_text(fs::path(directory) / topic));
    if (quotes.empty()) continue;
    int64_t label = static_cast<int64_t>(data.label_names.size());
    data.label_names.push_back(topic);
    for (auto& q : quotes) {
      data.texts.push_back(std::move(q));
      data.labels.push_back(label);
    }
  }
  FORGE_CHECK(!data.texts.empty(), "[datasets] no fortunes found in {}", directory);
  return data;
}

std::vector<std::string> load_fortunes_zh(const std::string& directory) {
  require_dir(directory, "fortunes-zh", "fortunes-zh", "tang300");
  std::vector<std::string> poems;
  for (const char* file : {"tang300", "song100"}) {
    auto entries = split_fortunes(strip_ansi(read_text(fs::path(directory) / file)));
    poems.insert(poems.end(), entries.begin(), entries.end());
  }
  return poems;
}

}  // namespace forge
