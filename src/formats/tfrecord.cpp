#include "formats/tfrecord.h"

#include <array>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace forge {
namespace {

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    table[i] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

void put_le(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

uint64_t get_le(std::string_view in, size_t pos, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(static_cast<uint8_t>(in[pos + i])) << (8 * i);
  return value;
}

}  // namespace

uint32_t crc32c(std::string_view data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (char c : data) crc = kCrcTable[(crc ^ static_cast<uint8_t>(c)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

uint32_t masked_crc32c(std::string_view data) {
  const uint32_t crc = crc32c(data);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

std::string encode_tfrecord(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  put_le(out, data.size(), 8);
  put_le(out, masked_crc32c(out), 4);  // CRC of the 8 length bytes written just above
  out.append(data);
  put_le(out, masked_crc32c(data), 4);
  return out;
}

std::vector<std::string> decode_tfrecords(std::string_view bytes, const std::string& name) {
  std::vector<std::string> records;
  size_t pos = 0;
  while (pos < bytes.size()) {
    const size_t k = records.size();
    FORGE_CHECK(bytes.size() - pos >= 12, "[tfrecord] {}: record {} truncated in its 12-byte header at byte {}", name,
                k, pos);
    const uint64_t length = get_le(bytes, pos, 8);
    const auto stored_length_crc = static_cast<uint32_t>(get_le(bytes, pos + 8, 4));
    const uint32_t length_crc = masked_crc32c(bytes.substr(pos, 8));
    FORGE_CHECK(stored_length_crc == length_crc,
                "[tfrecord] {}: record {} length CRC mismatch at byte {} (stored {:#010x}, computed {:#010x})", name, k,
                pos, stored_length_crc, length_crc);
    pos += 12;
    FORGE_CHECK(length <= bytes.size() - pos && bytes.size() - pos - length >= 4,
                "[tfrecord] {}: record {} needs {} data bytes + 4 CRC bytes, {} left", name, k, length,
                bytes.size() - pos);
    const std::string_view data = bytes.substr(pos, length);
    const auto stored_crc = static_cast<uint32_t>(get_le(bytes, pos + length, 4));
    const uint32_t crc = masked_crc32c(data);
    FORGE_CHECK(stored_crc == crc, "[tfrecord] {}: record {} data CRC mismatch (stored {:#010x}, computed {:#010x})",
                name, k, stored_crc, crc);
    records.emplace_back(data);
    pos += length + 4;
  }
  return records;
}

std::vector<std::string> read_tfrecord_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FORGE_CHECK(in.good(), "[tfrecord] cannot open {}", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return decode_tfrecords(buffer.str(), path);
}

}  // namespace forge
