#include "formats/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace forge {

bool is_gzip(const uint8_t* data, size_t size) { return size >= 2 && data[0] == 0x1f && data[1] == 0x8b; }

std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& name) {
  FORGE_CHECK(is_gzip(data, size), "[gzip] {}: not a gzip file", name);
  z_stream zs{};
  // 16 + MAX_WBITS: expect a gzip header and trailer (CRC and length are checked by zlib).
  FORGE_CHECK(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK, "[gzip] {}: cannot initialise zlib", name);
  std::vector<uint8_t> out;
  // The trailer's ISIZE is the uncompressed size mod 2^32 of the last member: a good first guess.
  if (size >= 18) {
    const uint32_t isize = static_cast<uint32_t>(data[size - 4]) | static_cast<uint32_t>(data[size - 3]) << 8 |
                           static_cast<uint32_t>(data[size - 2]) << 16 | static_cast<uint32_t>(data[size - 1]) << 24;
    out.reserve(std::min<size_t>(isize, size * 1032));  // deflate never exceeds ~1032:1
  }
  size_t consumed = 0;
  int status = Z_OK;
  try {
    while (true) {
      if (out.size() == out.capacity()) out.reserve(std::max<size_t>(out.capacity() * 2, 1 << 16));
      const size_t produced_before = out.size();
      out.resize(out.capacity());
      const size_t chunk_in = std::min<size_t>(size - consumed, std::numeric_limits<uInt>::max());
      const size_t chunk_out = std::min<size_t>(out.size() - produced_before, std::numeric_limits<uInt>::max());
      zs.next_in = const_cast<Bytef*>(data + consumed);
      zs.avail_in = static_cast<uInt>(chunk_in);
      zs.next_out = out.data() + produced_before;
      zs.avail_out = static_cast<uInt>(chunk_out);
      status = inflate(&zs, Z_NO_FLUSH);
      consumed += chunk_in - zs.avail_in;
      out.resize(produced_before + (chunk_out - zs.avail_out));
      if (status == Z_STREAM_END) {
        if (consumed == size) break;
        // Another member follows (gzip files may be concatenated); anything else is garbage.
        FORGE_CHECK(is_gzip(data + consumed, size - consumed), "[gzip] {}: {} bytes of trailing garbage", name,
                    size - consumed);
        inflateReset(&zs);
        continue;
      }
      if (status == Z_BUF_ERROR && consumed == size) {
        fail("[gzip] {}: compressed data is truncated (ends after {} bytes of output)", name, out.size());
      }
      FORGE_CHECK(status == Z_OK || status == Z_BUF_ERROR, "[gzip] {}: corrupt data: {}", name,
                  zs.msg != nullptr ? zs.msg : "unknown zlib error");
    }
  } catch (...) {
    inflateEnd(&zs);
    throw;
  }
  inflateEnd(&zs);
  return out;
}

}  // namespace forge
