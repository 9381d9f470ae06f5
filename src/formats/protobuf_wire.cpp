#include "formats/protobuf_wire.h"

#include <cstring>

#include "core/error.h"

namespace forge {

void ProtoWriter::raw_varint(uint64_t value) {
  while (value >= 0x80) {
    data_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  data_.push_back(static_cast<char>(value));
}

void ProtoWriter::tag(uint32_t field, WireType type) {
  FORGE_CHECK(field >= 1 && field < (1u << 29), "[protobuf] field number must be in [1, 2^29), got {}", field);
  raw_varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(type));
}

void ProtoWriter::varint(uint32_t field, uint64_t value) {
  tag(field, WireType::kVarint);
  raw_varint(value);
}

void ProtoWriter::double_value(uint32_t field, double value) {
  tag(field, WireType::kFixed64);
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  for (int i = 0; i < 8; ++i) data_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));  // little-endian
}

void ProtoWriter::float_value(uint32_t field, float value) {
  tag(field, WireType::kFixed32);
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  for (int i = 0; i < 4; ++i) data_.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

void ProtoWriter::bytes(uint32_t field, std::string_view data) {
  tag(field, WireType::kLengthDelimited);
  raw_varint(data.size());
  data_.append(data);
}

double ProtoField::as_double() const {
  double v = 0;
  std::memcpy(&v, &value, sizeof v);
  return v;
}

float ProtoField::as_float() const {
  const auto bits = static_cast<uint32_t>(value);
  float v = 0;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

namespace {

uint64_t read_varint(std::string_view m, size_t& pos) {
  uint64_t value = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    FORGE_CHECK(pos < m.size(), "[protobuf] truncated varint at byte {}", pos);
    const auto byte = static_cast<uint8_t>(m[pos++]);
    value |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  fail("[protobuf] varint longer than 10 bytes ending at byte {}", pos);
}

uint64_t read_fixed(std::string_view m, size_t& pos, size_t width) {
  FORGE_CHECK(pos + width <= m.size(), "[protobuf] truncated {}-byte field at byte {}", width, pos);
  uint64_t value = 0;
  for (size_t i = 0; i < width; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(m[pos + i])) << (8 * i);
  pos += width;
  return value;
}

}  // namespace

std::vector<ProtoField> parse_proto(std::string_view m) {
  std::vector<ProtoField> fields;
  size_t pos = 0;
  while (pos < m.size()) {
    const size_t start = pos;
    const uint64_t key = read_varint(m, pos);
    ProtoField f;
    f.number = static_cast<uint32_t>(key >> 3);
    FORGE_CHECK(f.number != 0, "[protobuf] field number 0 at byte {}", start);
    switch (key & 7) {
      case 0: f.type = WireType::kVarint, f.value = read_varint(m, pos); break;
      case 1: f.type = WireType::kFixed64, f.value = read_fixed(m, pos, 8); break;
      case 5: f.type = WireType::kFixed32, f.value = read_fixed(m, pos, 4); break;
      case 2: {
        f.type = WireType::kLengthDelimited;
        const uint64_t length = read_varint(m, pos);
        FORGE_CHECK(length <= m.size() - pos, "[protobuf] field {} at byte {} claims {} bytes, {} left", f.number,
                    start, length, m.size() - pos);
        f.bytes = m.substr(pos, length);
        pos += length;
        break;
      }
      default: fail("[protobuf] unsupported wire type {} for field {} at byte {}", key & 7, f.number, start);
    }
    fields.push_back(f);
  }
  return fields;
}

}  // namespace forge
