#pragma once
// GGUF (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md), versions 2 and 3: a header
// ("GGUF", version, tensor count, metadata count), typed key/value metadata (scalars, strings,
// nested arrays), tensor infos (name, dims, ggml type, offset), then the tensor data, each
// tensor aligned to general.alignment (default 32) from the start of the data section.
//
// load_gguf() maps the file through ByteSource, validates every count, length, offset and size
// against the file (a malformed file throws forge::Error naming the file, the key or tensor and
// the numbers; it never crashes) and hands out tensors as zero-copy views of the mapping.
// Tensor shapes are in PyTorch order (GGUF's ne reversed): a [n_out, n_in] matrix has
// ne = {n_in, n_out}. Quantized tensors keep their raw GGUF block storage (DType::kQ4_0 ...).
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "formats/byte_source.h"

namespace forge {

// Metadata value types (the GGUF spec's gguf_metadata_value_type).
enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
std::string_view gguf_type_name(GgufType type);

// One metadata value: a scalar, a string or an array (of scalars, strings or arrays).
struct GgufValue {
  GgufType type = GgufType::kU32;
  uint64_t u = 0;     // unsigned integers and bool
  int64_t i = 0;      // signed integers
  double f = 0.0;     // f32 / f64
  std::string s;      // string
  GgufType array_type = GgufType::kU8;  // element type when type == kArray
  std::vector<GgufValue> array;

  // Typed access; each throws "[gguf] metadata 'KEY' is TYPE, expected ..." naming `key`.
  int64_t as_int(const std::string& key = "value") const;  // any integer type (u64 must fit)
  double as_float(const std::string& key = "value") const;  // any numeric type
  bool as_bool(const std::string& key = "value") const;
  const std::string& as_string(const std::string& key = "value") const;
  const std::vector<GgufValue>& as_array(const std::string& key = "value") const;
  std::vector<std::string> as_strings(const std::string& key = "value") const;  // array of strings
  std::vector<int64_t> as_ints(const std::string& key = "value") const;         // array of integers
  std::vector<float> as_floats(const std::string& key = "value") const;         // array of numbers
  // A short human-readable rendering; arrays longer than `max_items` are summarized.
  std::string to_string(size_t max_items = 8) const;

  static GgufValue from_u32(uint32_t v);
  static GgufValue from_i32(int32_t v);
  static GgufValue from_u64(uint64_t v);
  static GgufValue from_f32(float v);
  static GgufValue from_bool(bool v);
  static GgufValue from_string(std::string v);
  static GgufValue from_strings(const std::vector<std::string>& v);
  static GgufValue from_i32s(const std::vector<int32_t>& v);
  static GgufValue from_f32s(const std::vector<float>& v);
};

// ggml tensor type ids (ggml.h). Types Forge has no DType for still load and list in
// `forge inspect`; asking for them as a Tensor throws naming the type.
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28, kBF16 = 30,
};
std::string ggml_type_name(uint32_t type);  // "Q4_K", or "type 99" for unknown ids
// The ggml type of a Forge dtype (throws for dtypes GGUF cannot store).
GgmlType ggml_type_of(DType dtype);

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // GGUF order: ne[0] is the innermost (contiguous) dimension
  Shape shape;               // PyTorch order: ne reversed
  uint32_t type = 0;         // ggml type id
  bool supported = false;    // Forge has a DType for it
  DType dtype = DType::kF32; // valid when supported
  uint64_t offset = 0;       // relative to the data section
  uint64_t nbytes = 0;
};

struct GgufFile {
  std::shared_ptr<ByteSource> source;
  uint32_t version = 3;
  uint64_t alignment = 32;
  uint64_t data_offset = 0;  // absolute file offset of the data section
  std::vector<std::pair<std::string, GgufValue>> metadata;  // in file order
  std::vector<GgufTensorInfo> tensor_infos;                 // in file order

  const std::string& path() const { return source->name(); }
  bool has(const std::string& key) const;
  const GgufValue* find(const std::string& key) const;  // nullptr when absent
  const GgufValue& at(const std::string& key) const;    // throws naming the missing key
  // Convenience typed getters with defaults for optional keys.
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key, double fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  // general.architecture ("llama"), throws when missing.
  std::string architecture() const;

  bool has_tensor(const std::string& name) const;
  const GgufTensorInfo& info(const std::string& name) const;  // throws naming the missing tensor
  // Zero-copy view of the mapping (throws for unsupported ggml types, naming them).
  Tensor tensor(const std::string& name) const;
  uint64_t total_tensor_bytes() const;

 private:
  friend GgufFile load_gguf(const std::shared_ptr<ByteSource>& source);
  std::map<std::string, size_t> key_index_;
  std::map<std::string, size_t> tensor_index_;
};

// Parses and validates; throws "[gguf] FILE: what is wrong (numbers)" on any problem.
GgufFile load_gguf(const std::string& path);
GgufFile load_gguf(const std::shared_ptr<ByteSource>& source);
// True when the file starts with the GGUF magic (cheap format sniffing for the CLI).
bool is_gguf_file(const std::string& path);

// Writes a GGUF v3 file crash-safely (write_file_atomic). Tensors may be any dtype with a ggml
// type (F32, F16, BF16, I32, I64, F64, quantized); shapes are PyTorch order. `alignment` is
// written as general.alignment when it is not 32. Metadata keys and tensor names must be unique.
void save_gguf(const std::string& path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
               const std::vector<std::pair<std::string, Tensor>>& tensors, uint64_t alignment = 32);

}  // namespace forge
