#include "data/idx.h"

#include <bit>
#include <cstring>
#include <limits>
#include <vector>

#include "formats/gzip.h"

namespace forge {

namespace {

struct IdxType {
  uint8_t code;
  const char* name;
  size_t bytes;  // per element in the file
  DType dtype;   // in memory (Forge has no int8/int16: they widen to int32)
};
constexpr IdxType kTypes[] = {{0x08, "uint8", 1, DType::kU8},    {0x09, "int8", 1, DType::kI32},
                              {0x0B, "int16", 2, DType::kI32},   {0x0C, "int32", 4, DType::kI32},
                              {0x0D, "float32", 4, DType::kF32}, {0x0E, "float64", 8, DType::kF64}};

uint64_t read_be(const uint8_t* p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = v << 8 | p[i];
  return v;
}

// Big-endian file elements of type `In` (given as the unsigned bit pattern) -> `Out`.
template <typename Out, typename Bits, typename In>
void convert(const uint8_t* src, int64_t n, Out* dst) {
  for (int64_t i = 0; i < n; ++i) {
    const auto bits = static_cast<Bits>(read_be(src + i * sizeof(Bits), sizeof(Bits)));
    dst[i] = static_cast<Out>(std::bit_cast<In>(bits));
  }
}

Tensor parse_idx(const uint8_t* bytes, size_t size, const std::string& file) {
  FORGE_CHECK(size >= 4, "[idx] {}: file is {} bytes, too short for the 4-byte magic", file, size);
  const IdxType* type = nullptr;
  for (const auto& t : kTypes) {
    if (bytes[2] == t.code) type = &t;
  }
  FORGE_CHECK(bytes[0] == 0 && bytes[1] == 0 && type != nullptr,
              "[idx] {}: bad magic 0x{:08x}: an IDX file starts with two zero bytes, a type code (0x08, 0x09, "
              "0x0B, 0x0C, 0x0D or 0x0E) and the number of dimensions",
              file, read_be(bytes, 4));
  const size_t ndims = bytes[3];
  FORGE_CHECK(ndims >= 1, "[idx] {}: header declares 0 dimensions", file);
  const size_t header = 4 + 4 * ndims;
  FORGE_CHECK(size >= header, "[idx] {}: header declares {} dimensions but the file ends after {} bytes", file, ndims,
              size);
  Shape shape(ndims);
  uint64_t numel = 1;
  for (size_t d = 0; d < ndims; ++d) {
    const uint64_t dim = read_be(bytes + 4 + 4 * d, 4);
    FORGE_CHECK(dim == 0 || numel <= std::numeric_limits<int64_t>::max() / type->bytes / dim,
                "[idx] {}: header dimensions overflow", file);
    numel *= dim;
    shape[d] = static_cast<int64_t>(dim);
  }
  const uint64_t expected = numel * type->bytes;
  const uint64_t found = size - header;
  FORGE_CHECK(found == expected, "[idx] {}: expected {} bytes of data, found {} (header shape {}, {})", file, expected,
              found, shape_str(shape), type->name);

  Tensor out = empty(shape, type->dtype);
  const uint8_t* src = bytes + header;
  const auto n = static_cast<int64_t>(numel);
  switch (type->code) {
    case 0x08: std::memcpy(out.data<uint8_t>(), src, numel); break;
    case 0x09: convert<int32_t, uint8_t, int8_t>(src, n, out.data<int32_t>()); break;
    case 0x0B: convert<int32_t, uint16_t, int16_t>(src, n, out.data<int32_t>()); break;
    case 0x0C: convert<int32_t, uint32_t, int32_t>(src, n, out.data<int32_t>()); break;
    case 0x0D: convert<float, uint32_t, float>(src, n, out.data<float>()); break;
    case 0x0E: convert<double, uint64_t, double>(src, n, out.data<double>()); break;
    default: fail("[idx] {}: unhandled type code 0x{:02x}", file, type->code);
  }
  return out;
}

}  // namespace

Tensor load_idx(const std::string& path) { return load_idx(open_file(path)); }

Tensor load_idx(const std::shared_ptr<ByteSource>& source) {
  // Elements are copied (and byte-swapped) rather than viewed: files are big-endian and small
  // next to what training does with them.
  if (is_gzip(source->data(), source->size())) {
    const std::vector<uint8_t> bytes = gunzip(source->data(), source->size(), source->name());
    return parse_idx(bytes.data(), bytes.size(), source->name());
  }
  return parse_idx(source->data(), source->size(), source->name());
}

}  // namespace forge
