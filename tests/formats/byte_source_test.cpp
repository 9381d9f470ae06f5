// Dropping a memory-mapped file's pages from this process (formats/byte_source.h): only inside a
// file mapped by open_file (never other memory), and the contents read back unchanged afterwards.
#include "formats/byte_source.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace forge {
namespace {

// Resident KiB of the mapping that starts at `begin` (/proc/self/smaps), or -1 when not found.
long mapping_rss_kib(const void* begin) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  const auto want = reinterpret_cast<uintptr_t>(begin);
  bool in_mapping = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2 && line.find(':') > line.find('-')) {
      in_mapping = lo == want;
      continue;
    }
    long kib = 0;
    if (in_mapping && std::sscanf(line.c_str(), "Rss: %ld kB", &kib) == 1) return kib;
  }
  return -1;
}

TEST(ByteSource, ReleaseMappedFilePagesDropsTheWholeMappingAndKeepsItsContents) {
  const auto path = std::filesystem::temp_directory_path() / ("forge_release_" + std::to_string(::getpid()));
  const size_t size = 64 * 4096 + 100;
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>(i * 7 + i / 4096);
  std::ofstream(path, std::ios::binary) << bytes;
  {
    auto file = open_file(path.string());
    const auto* data = reinterpret_cast<const char*>(file->data());
    long sum = 0;
    for (size_t i = 0; i < size; i += 4096) sum += data[i];  // fault every page in
    EXPECT_NE(sum, 12345);
    EXPECT_GE(mapping_rss_kib(data), 64 * 4);

    // Not a mapped file: a heap buffer is left alone (MADV_DONTNEED would zero it).
    std::vector<char> heap(3 * 4096, 'x');
    EXPECT_FALSE(release_mapped_file_pages(heap.data() + 4096));
    EXPECT_FALSE(release_file_pages(heap.data(), heap.size()));
    EXPECT_EQ(heap[5000], 'x');

    EXPECT_TRUE(release_mapped_file_pages(data + size / 2));  // any address inside it
    EXPECT_LE(mapping_rss_kib(data), 4);
    EXPECT_EQ(std::string(data, size), bytes);  // re-read from the file
    EXPECT_FALSE(release_mapped_file_pages(data + size + 8192));
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace forge
