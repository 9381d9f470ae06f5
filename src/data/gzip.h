#pragma once
// Transparent gzip: data files are often shipped compressed (sklearn's digits.csv.gz, MNIST's
// *-ubyte.gz). Decompression happens on the bytes of a ByteSource, so an encrypted, gzip'd file
// still goes through open_file() (and a decrypting source) first.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "formats/byte_source.h"

namespace forge {

// A ByteSource over bytes held in memory (decompressed data, test fixtures).
std::shared_ptr<ByteSource> memory_source(std::string name, std::vector<uint8_t> bytes);

// True when the bytes start with the gzip magic number (1f 8b).
bool is_gzip(const ByteSource& source);

// Decompresses a gzip stream (several concatenated members are allowed).
// Throws "[gzip] NAME: corrupt or truncated gzip data (reason)".
std::vector<uint8_t> gunzip(const ByteSource& source);

// open_file(path), decompressed when the file is gzip'd (detected by content, not by name).
std::shared_ptr<ByteSource> open_file_decompressed(const std::string& path);

}  // namespace forge
