#pragma once
// TFRecord framing (the container of TensorBoard event files). Each record is
//   uint64 length | uint32 masked_crc32c(length bytes) | data | uint32 masked_crc32c(data)
// with all integers little-endian.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace forge {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78); crc32c("123456789") = 0xE3069283.
uint32_t crc32c(std::string_view data);
// TensorFlow's mask: ((crc >> 15) | (crc << 17)) + 0xa282ead8, so CRCs of CRCs stay useful.
uint32_t masked_crc32c(std::string_view data);

// One framed record, ready to append to a file.
std::string encode_tfrecord(std::string_view data);
// Splits a buffer into record payloads, checking both CRCs of every record; throws
// "[tfrecord] NAME: record K ..." on a truncated record or a CRC mismatch.
std::vector<std::string> decode_tfrecords(std::string_view bytes, const std::string& name = "buffer");
std::vector<std::string> read_tfrecord_file(const std::string& path);

}  // namespace forge
