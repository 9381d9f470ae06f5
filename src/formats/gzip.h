#pragma once
// gzip decompression (zlib) for readers whose files may arrive compressed (IDX, CSV, text).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace forge {

// True when the bytes start with the gzip magic (1f 8b).
bool is_gzip(const uint8_t* data, size_t size);

// Decompresses a whole gzip file (concatenated members included). `name` is used in errors:
// "[gzip] FILE: compressed data is truncated", "[gzip] FILE: corrupt data: reason".
std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& name);

}  // namespace forge
