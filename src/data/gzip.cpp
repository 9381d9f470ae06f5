#include "data/gzip.h"

#include <zlib.h>

#include <limits>

#include "core/error.h"

namespace forge {

namespace {

class MemorySource : public ByteSource {
 public:
  MemorySource(std::string name, std::vector<uint8_t> bytes)
      : name_(std::move(name)), bytes_(std::make_shared<std::vector<uint8_t>>(std::move(bytes))) {
    auto keep = bytes_;
    storage_ = Storage::wrap(bytes_->data(), bytes_->size(), [keep] {});
  }
  const std::string& name() const override { return name_; }
  size_t size() const override { return bytes_->size(); }
  const uint8_t* data() const override { return bytes_->data(); }
  std::shared_ptr<Storage> storage() override { return storage_; }

 private:
  std::string name_;
  std::shared_ptr<std::vector<uint8_t>> bytes_;
  std::shared_ptr<Storage> storage_;
};

}  // namespace

std::shared_ptr<ByteSource> memory_source(std::string name, std::vector<uint8_t> bytes) {
  return std::make_shared<MemorySource>(std::move(name), std::move(bytes));
}

bool is_gzip(const ByteSource& source) {
  return source.size() >= 2 && source.data()[0] == 0x1f && source.data()[1] == 0x8b;
}

std::vector<uint8_t> gunzip(const ByteSource& source) {
  FORGE_CHECK(is_gzip(source), "[gzip] {}: not gzip data (bad magic number)", source.name());
  std::vector<uint8_t> out;
  out.reserve(source.size() * 4);
  z_stream zs{};
  // 15 + 32: maximum window, detect the gzip header automatically.
  FORGE_CHECK(inflateInit2(&zs, 15 + 32) == Z_OK, "[gzip] {}: cannot initialise zlib", source.name());
  const uint8_t* in = source.data();
  size_t left = source.size();
  uint8_t chunk[1 << 16];
  int rc = Z_OK;
  while (true) {
    if (zs.avail_in == 0 && left > 0) {
      const size_t take = std::min<size_t>(left, std::numeric_limits<uInt>::max());
      zs.next_in = const_cast<Bytef*>(in);
      zs.avail_in = static_cast<uInt>(take);
      in += take;
      left -= take;
    }
    zs.next_out = chunk;
    zs.avail_out = sizeof(chunk);
    rc = inflate(&zs, Z_NO_FLUSH);
    out.insert(out.end(), chunk, chunk + (sizeof(chunk) - zs.avail_out));
    if (rc == Z_STREAM_END) {
      if (zs.avail_in == 0 && left == 0) break;
      inflateReset(&zs);  // another gzip member follows
      continue;
    }
    if (rc != Z_OK) {
      const std::string reason = zs.msg ? zs.msg : (rc == Z_BUF_ERROR ? "unexpected end of data" : "zlib error");
      inflateEnd(&zs);
      fail("[gzip] {}: corrupt or truncated gzip data ({})", source.name(), reason);
    }
  }
  inflateEnd(&zs);
  return out;
}

std::shared_ptr<ByteSource> open_file_decompressed(const std::string& path) {
  auto source = open_file(path);
  if (!is_gzip(*source)) return source;
  return memory_source(path, gunzip(*source));
}

}  // namespace forge
