#pragma once
// Helpers for the tokenizer tests: random UTF-8, temporary files, and running the committed
// Hugging Face helper script (tools/text/hf_encode.py) through the test venv.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "text/unicode.h"

namespace forge::text::test {

inline std::string source_dir() { return std::string(FORGE_TEST_DATA_DIR) + "/.."; }
inline std::string models_dir() { return FORGE_TEST_MODELS_DIR; }

// A fresh directory under the system temp dir (removed by the caller or left for inspection).
inline std::filesystem::path temp_dir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("forge_text_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_file(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// A random code point from a mix that stresses tokenizers: ASCII (letters, digits, punctuation,
// apostrophes), whitespace of every kind, Latin-1 and accents, CJK, Hangul, emoji, symbols, and
// anything from all planes (surrogates excluded).
inline uint32_t random_code_point(std::mt19937& rng, bool all_planes = true) {
  auto pick = [&](uint32_t lo, uint32_t hi) {
    return std::uniform_int_distribution<uint32_t>(lo, hi)(rng);
  };
  static const uint32_t kSpaces[] = {' ', ' ', ' ', '\n', '\t', '\r', 0x0B, 0x0C, 0xA0, 0x3000, 0x2003, 0x85};
  switch (pick(0, all_planes ? 11 : 10)) {
    case 0: case 1: return pick('a', 'z');
    case 2: return pick('A', 'Z');
    case 3: return pick('0', '9');
    case 4: return kSpaces[pick(0, sizeof(kSpaces) / sizeof(kSpaces[0]) - 1)];
    case 5: return pick(0x21, 0x2F) == 0x21 ? '\'' : pick(0x21, 0x7E);
    case 6: return pick(0xA1, 0x24F);   // Latin-1, Latin Extended
    case 7: return pick(0x300, 0x36F);  // combining marks
    case 8: return pick(0x4E00, 0x9FFF);
    case 9: return pick(0x1F300, 0x1FAFF);  // emoji
    case 10: return pick(0xAC00, 0xD7A3);  // Hangul
    default: {
      uint32_t cp;
      do {
        cp = pick(0, 0x10FFFF);
      } while (cp >= 0xD800 && cp <= 0xDFFF);
      return cp;
    }
  }
}

// assigned_only: skip code points our Unicode 14 tables call other (C*) beyond ASCII: mostly
// unassigned ones, which newer Unicode versions (those of HF tokenizers' Rust crates) may assign.
inline std::string random_utf8(std::mt19937& rng, size_t max_chars, bool all_planes = true,
                               bool assigned_only = false) {
  std::string s;
  const size_t n = std::uniform_int_distribution<size_t>(0, max_chars)(rng);
  for (size_t i = 0; i < n; ++i) {
    uint32_t cp = random_code_point(rng, all_planes);
    while (assigned_only && cp >= 0x80 && is_control(cp)) cp = random_code_point(rng, all_planes);
    utf8_append(s, cp);
  }
  return s;
}

// Runs tools/text/hf_encode.py on `spec` (texts included) and returns its JSON output. A missing
// venv or module is a failure naming the fix, never a skip.
inline nlohmann::json hf_encode(nlohmann::json spec, const std::string& name) {
  const auto dir = temp_dir(name);
  const auto in = dir / "spec.json";
  const auto out = dir / "out.json";
  write_file(in, spec.dump());
  const std::string python = FORGE_TEST_PYTHON;
  if (!std::filesystem::exists(python)) {
    ADD_FAILURE() << "no test Python at " << python << "; run: bash scripts/setup.sh --test";
    return {};
  }
  const std::string cmd = "'" + python + "' '" + source_dir() + "/tools/text/hf_encode.py' '" +
                          in.string() + "' '" + out.string() + "' 2>&1";
  const int rc = std::system(cmd.c_str());
  if (rc != 0) {
    ADD_FAILURE() << "hf_encode.py failed (rc " << rc << "): " << cmd
                  << " (if a module is missing: bash scripts/setup.sh --test)";
    return {};
  }
  auto result = nlohmann::json::parse(read_file(out));
  std::filesystem::remove_all(dir);
  return result;
}

}  // namespace forge::text::test
