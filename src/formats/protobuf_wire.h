#pragma once
// The protobuf wire format (https://protobuf.dev/programming-guides/encoding/), by hand: enough
// to write and read small messages such as TensorBoard events without a protobuf dependency.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace forge {

enum class WireType : uint8_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// Appends fields to a message. Field numbers are the ones in the .proto file.
class ProtoWriter {
 public:
  void varint(uint32_t field, uint64_t value);  // uint32/uint64/int64/bool/enum
  void int64(uint32_t field, int64_t value) { varint(field, static_cast<uint64_t>(value)); }
  void double_value(uint32_t field, double value);  // fixed64
  void float_value(uint32_t field, float value);    // fixed32
  void bytes(uint32_t field, std::string_view data);  // string / bytes
  void message(uint32_t field, const ProtoWriter& nested) { bytes(field, nested.data()); }
  const std::string& data() const { return data_; }

 private:
  void tag(uint32_t field, WireType type);
  void raw_varint(uint64_t value);
  std::string data_;
};

// One decoded field; `bytes` views the parsed buffer for length-delimited fields.
struct ProtoField {
  uint32_t number = 0;
  WireType type = WireType::kVarint;
  uint64_t value = 0;  // varint, or the raw bits of fixed64 / fixed32
  std::string_view bytes;

  double as_double() const;
  float as_float() const;
  int64_t as_int64() const { return static_cast<int64_t>(value); }
};

// Splits a message into its fields; throws "[protobuf] ..." on truncated or malformed input
// (including the deprecated group wire types).
std::vector<ProtoField> parse_proto(std::string_view message);

}  // namespace forge
