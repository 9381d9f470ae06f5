// Replays the committed fuzz seed corpora (tools/fuzz/corpus/{gguf,safetensors}) through the
// same target bodies the libFuzzer builds use (tools/fuzz/fuzz_targets.h), so that every build,
// GCC included, checks them: valid_* / seed_* inputs must load, broken_* must be rejected with
// forge::Error, and none may crash. The libFuzzer runs themselves are ctest entries
// fuzz_gguf_short / fuzz_safetensors_short (tests/CMakeLists.txt, only where clang exists).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "../../tools/fuzz/fuzz_targets.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

fs::path corpus_dir(const std::string& target) {
  return fs::path(FORGE_TEST_DATA_DIR).parent_path() / "tools" / "fuzz" / "corpus" / target;
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

using Target = bool (*)(const uint8_t*, size_t);

// Returns the number of seeds replayed.
int replay(const std::string& target, Target run) {
  int seeds = 0;
  for (const auto& entry : fs::directory_iterator(corpus_dir(target))) {
    const std::string name = entry.path().filename().string();
    const auto bytes = read_bytes(entry.path());
    const bool loaded = run(bytes.data(), bytes.size());
    if (name.rfind("broken_", 0) == 0) {
      EXPECT_FALSE(loaded) << target << " seed " << name << " should be rejected";
    } else {
      EXPECT_TRUE(loaded) << target << " seed " << name << " should load";
    }
    ++seeds;
  }
  return seeds;
}

TEST(FuzzCorpus, GgufSeedsReplay) { EXPECT_GE(replay("gguf", fuzz::gguf_one_input), 4); }

TEST(FuzzCorpus, SafetensorsSeedsReplay) { EXPECT_GE(replay("safetensors", fuzz::safetensors_one_input), 20); }

// A short in-process mutation run over the valid safetensors seeds (the GCC build has no libFuzzer):
// byte edits, truncations and planted extreme numbers must each load or throw forge::Error.
TEST(FuzzCorpus, SafetensorsMutationsNeverCrash) {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(corpus_dir("safetensors"))) {
    if (entry.path().filename().string().rfind("valid_", 0) == 0) paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());  // a fixed order: the run is reproducible
  std::vector<std::vector<uint8_t>> seeds;
  for (const auto& p : paths) seeds.push_back(read_bytes(p));
  std::mt19937 rng(99);
  int loaded = 0;
  for (int iter = 0; iter < 800; ++iter) {
    std::vector<uint8_t> b = seeds[rng() % seeds.size()];
    if (b.empty()) continue;
    const int kind = iter % 3;
    if (kind == 0) {
      b.resize(rng() % b.size());
    } else if (kind == 1) {
      for (int e = 0; e < 3; ++e) b[rng() % b.size()] = static_cast<uint8_t>(rng());
    } else {
      // Replace a digit run with an extreme number (the JSON headers are where the checks are).
      static const char* kNumbers[] = {"0", "18446744073709551615", "-1", "4294967296", "1e30", "9223372036854775808"};
      const size_t at = rng() % b.size();
      size_t end = at;
      while (end < b.size() && b[end] >= '0' && b[end] <= '9') ++end;
      const std::string n = kNumbers[rng() % 6];
      b.erase(b.begin() + static_cast<std::ptrdiff_t>(at), b.begin() + static_cast<std::ptrdiff_t>(end));
      b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), n.begin(), n.end());
    }
    loaded += fuzz::safetensors_one_input(b.data(), b.size()) ? 1 : 0;
  }
  EXPECT_GT(loaded, 10);  // the mutations are mild enough that some still load
}

}  // namespace
}  // namespace forge
