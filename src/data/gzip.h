#pragma once
// Transparent gzip for the data readers: data files are often shipped compressed (sklearn's
// digits.csv.gz, MNIST's *-ubyte.gz). Decompression (formats/gzip.h) runs on the bytes of a
// ByteSource, so an encrypted, gzip'd file still goes through open_file() (and a decrypting
// source) first.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "formats/byte_source.h"

namespace forge {

// A ByteSource over bytes held in memory (decompressed data, test fixtures).
std::shared_ptr<ByteSource> memory_source(std::string name, std::vector<uint8_t> bytes);

// open_file(path), decompressed when the file is gzip'd (detected by content, not by name).
// Throws "[gzip] PATH: compressed data is truncated ..." or "[gzip] PATH: corrupt data: ...".
std::shared_ptr<ByteSource> open_file_decompressed(const std::string& path);

}  // namespace forge
