#include "data/idx.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "formats/gzip.h"
#include "test_util.h"

namespace forge {
namespace {

using Bytes = std::vector<uint8_t>;

// IDX header: two zero bytes, type code, ndims, then big-endian uint32 dims.
Bytes idx_header(uint8_t type, const std::vector<uint32_t>& dims) {
  Bytes b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<uint8_t>(d >> shift));
  }
  return b;
}

Bytes gzip_bytes(const Bytes& raw) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&zs, raw.size()) + 32);
  zs.next_in = const_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

class Idx : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const Bytes& bytes) {
    const auto dir = std::filesystem::temp_directory_path() / ("forge_idx_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string path = (dir / name).string();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    dir_ = dir;
    return path;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
};

// A 3x2x2 uint8 image stack, like MNIST's train-images (magic 0x00000803).
Bytes images() {
  Bytes b = idx_header(0x08, {3, 2, 2});
  for (int i = 0; i < 12; ++i) b.push_back(static_cast<uint8_t>(i * 20));
  return b;
}

TEST_F(Idx, RawUint8StaysBytes) {
  Tensor t = load_idx(write("images.idx", images()));
  EXPECT_EQ(t.shape(), (Shape{3, 2, 2}));
  EXPECT_EQ(t.dtype(), DType::kU8);
  EXPECT_EQ(t.to_vector<uint8_t>()[5], 100);
  EXPECT_EQ(t.to_vector<uint8_t>()[11], 220);
  EXPECT_EQ(t.to(DType::kF32).to_vector<float>()[11], 220.0f);
}

TEST_F(Idx, GzipMatchesRaw) {
  const Bytes raw = images();
  Tensor a = load_idx(write("images.idx", raw));
  Tensor b = load_idx(write("images.idx.gz", gzip_bytes(raw)));
  EXPECT_EQ(a.to_vector<uint8_t>(), b.to_vector<uint8_t>());
  EXPECT_EQ(a.shape(), b.shape());
  // Concatenated gzip members decompress to the concatenation.
  const Bytes gz = gzip_bytes(raw);
  Bytes twice = gz;
  twice.insert(twice.end(), gz.begin(), gz.end());
  EXPECT_EQ(gunzip(twice.data(), twice.size(), "twice").size(), 2 * raw.size());
}

TEST_F(Idx, BigEndianTypes) {
  Bytes i16 = idx_header(0x0B, {2});
  i16.insert(i16.end(), {0xFF, 0xFE, 0x01, 0x00});  // -2, 256
  EXPECT_EQ(load_idx(write("i16.idx", i16)).to_vector<int32_t>(), (std::vector<int32_t>{-2, 256}));

  Bytes i8 = idx_header(0x09, {2});
  i8.insert(i8.end(), {0xFF, 0x7F});  // -1, 127
  EXPECT_EQ(load_idx(write("i8.idx", i8)).to_vector<int32_t>(), (std::vector<int32_t>{-1, 127}));

  Bytes i32 = idx_header(0x0C, {1});
  i32.insert(i32.end(), {0x80, 0x00, 0x00, 0x01});
  EXPECT_EQ(load_idx(write("i32.idx", i32)).to_vector<int32_t>(), (std::vector<int32_t>{-2147483647}));

  Bytes f32 = idx_header(0x0D, {1, 2});
  f32.insert(f32.end(), {0x3F, 0xC0, 0x00, 0x00, 0xC0, 0x20, 0x00, 0x00});  // 1.5, -2.5
  Tensor f = load_idx(write("f32.idx", f32));
  EXPECT_EQ(f.dtype(), DType::kF32);
  EXPECT_EQ(f.shape(), (Shape{1, 2}));
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{1.5f, -2.5f}));

  Bytes f64 = idx_header(0x0E, {1});
  f64.insert(f64.end(), {0x40, 0x09, 0x21, 0xFB, 0x54, 0x44, 0x2D, 0x18});  // pi
  Tensor d = load_idx(write("f64.idx", f64));
  EXPECT_EQ(d.dtype(), DType::kF64);
  EXPECT_EQ(d.to_vector<double>()[0], 3.141592653589793);
}

TEST_F(Idx, BadMagic) {
  Bytes b = images();
  b[0] = 0x12;
  EXPECT_THROW_MSG(load_idx(write("bad.idx", b)), "bad.idx: bad magic 0x12000803");
  b = images();
  b[2] = 0x07;
  EXPECT_THROW_MSG(load_idx(write("type.idx", b)), "bad magic 0x00000703");
  EXPECT_THROW_MSG(load_idx(write("short.idx", {0, 0})), "too short for the 4-byte magic");
  EXPECT_THROW_MSG(load_idx(write("nodims.idx", {0, 0, 8, 0})), "header declares 0 dimensions");
}

TEST_F(Idx, TruncatedAndWrongDims) {
  Bytes b = images();
  b.resize(b.size() - 5);
  EXPECT_THROW_MSG(load_idx(write("cut.idx", b)),
                   "[idx] " + dir_.string() + "/cut.idx: expected 12 bytes of data, found 7");
  // The same truncation inside a valid gzip stream.
  EXPECT_THROW_MSG(load_idx(write("cut.idx.gz", gzip_bytes(b))), "cut.idx.gz: expected 12 bytes of data, found 7");
  // Header claims more dimensions than the file holds.
  EXPECT_THROW_MSG(load_idx(write("hdr.idx", {0, 0, 8, 3, 0, 0, 0, 1})), "declares 3 dimensions but the file ends");
  // Wrong dims: data left over is as wrong as data missing.
  Bytes extra = idx_header(0x08, {3, 2, 1});
  for (int i = 0; i < 12; ++i) extra.push_back(0);
  EXPECT_THROW_MSG(load_idx(write("dims.idx", extra)),
                   "expected 6 bytes of data, found 12 (header shape (3,2,1), uint8)");
  Bytes f32 = idx_header(0x0D, {2});
  f32.insert(f32.end(), {0, 0, 0, 0, 0, 0, 0});
  EXPECT_THROW_MSG(load_idx(write("f32.idx", f32)), "expected 8 bytes of data, found 7");
}

TEST_F(Idx, BrokenGzip) {
  Bytes gz = gzip_bytes(images());
  Bytes cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  EXPECT_THROW_MSG(load_idx(write("cut.gz", cut)), "[gzip] " + dir_.string() + "/cut.gz: compressed data is truncated");
  Bytes corrupt = gz;
  corrupt[gz.size() - 6] ^= 0xFF;  // inside the CRC32 trailer
  EXPECT_THROW_MSG(load_idx(write("crc.gz", corrupt)), "corrupt data");
  Bytes garbage = gz;
  garbage.push_back(0x42);
  EXPECT_THROW_MSG(load_idx(write("tail.gz", garbage)), "1 bytes of trailing garbage");
}

TEST_F(Idx, MissingFile) {
  EXPECT_THROW_MSG(load_idx("/nonexistent/train.idx"), "[file] cannot open /nonexistent/train.idx");
}

}  // namespace
}  // namespace forge
