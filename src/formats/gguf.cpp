#include "formats/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace forge {

namespace {

constexpr uint32_t kMagic = 0x46554747u;  // "GGUF" little-endian
constexpr int kMaxArrayDepth = 8;
constexpr uint32_t kMaxDims = 4;  // GGML_MAX_DIMS

struct GgmlTypeInfo {
  uint32_t id;
  const char* name;
  uint64_t block;
  uint64_t bytes;
  bool supported;
  DType dtype;
};

// From ggml.h / gguf-py GGML_QUANT_SIZES. Types without a Forge DType still parse (sizes are
// needed to validate the file and to list them) but cannot become Tensors.
constexpr GgmlTypeInfo kGgmlTypes[] = {
    {0, "F32", 1, 4, true, DType::kF32},          {1, "F16", 1, 2, true, DType::kF16},
    {2, "Q4_0", 32, 18, true, DType::kQ4_0},      {3, "Q4_1", 32, 20, true, DType::kQ4_1},
    {6, "Q5_0", 32, 22, true, DType::kQ5_0},      {7, "Q5_1", 32, 24, true, DType::kQ5_1},
    {8, "Q8_0", 32, 34, true, DType::kQ8_0},      {9, "Q8_1", 32, 40, false, DType::kF32},
    {10, "Q2_K", 256, 84, false, DType::kF32},    {11, "Q3_K", 256, 110, false, DType::kF32},
    {12, "Q4_K", 256, 144, true, DType::kQ4_K},   {13, "Q5_K", 256, 176, true, DType::kQ5_K},
    {14, "Q6_K", 256, 210, true, DType::kQ6_K},   {15, "Q8_K", 256, 292, false, DType::kF32},
    {16, "IQ2_XXS", 256, 66, false, DType::kF32}, {17, "IQ2_XS", 256, 74, false, DType::kF32},
    {18, "IQ3_XXS", 256, 98, false, DType::kF32}, {19, "IQ1_S", 256, 50, false, DType::kF32},
    {20, "IQ4_NL", 32, 18, false, DType::kF32},   {21, "IQ3_S", 256, 110, false, DType::kF32},
    {22, "IQ2_S", 256, 82, false, DType::kF32},   {23, "IQ4_XS", 256, 136, false, DType::kF32},
    {24, "I8", 1, 1, false, DType::kF32},         {25, "I16", 1, 2, false, DType::kF32},
    {26, "I32", 1, 4, true, DType::kI32},         {27, "I64", 1, 8, true, DType::kI64},
    {28, "F64", 1, 8, true, DType::kF64},         {29, "IQ1_M", 256, 56, false, DType::kF32},
    {30, "BF16", 1, 2, true, DType::kBF16},       {34, "TQ1_0", 256, 54, false, DType::kF32},
    {35, "TQ2_0", 256, 66, false, DType::kF32},   {39, "MXFP4", 32, 17, false, DType::kF32},
};

const GgmlTypeInfo* find_ggml_type(uint32_t id) {
  for (const auto& t : kGgmlTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

// Bounds-checked little-endian reader over the mapped bytes.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& file) : data_(data), size_(size), file_(file) {}
  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }

  template <typename T>
  T read(const char* what) {
    FORGE_CHECK(sizeof(T) <= remaining(), "[gguf] {}: file truncated at byte {} while reading {} (file is {} bytes)",
                file_, pos_, what, size_);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    const uint64_t len = read<uint64_t>(what);
    FORGE_CHECK(len <= remaining(), "[gguf] {}: {} at byte {} has length {} but only {} bytes remain", file_, what,
                pos_ - 8, len, remaining());
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& file_;
};

// Smallest encoded size of one value of `type` (to bound array counts by the file size).
uint64_t min_value_bytes(GgufType type) {
  switch (type) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: case GgufType::kString: return 8;
    case GgufType::kArray: return 12;
  }
  return 1;
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kF64); }

GgufValue read_value(Reader& r, GgufType type, const std::string& key, const std::string& file, int depth) {
  GgufValue v;
  v.type = type;
  switch (type) {
    case GgufType::kU8: v.u = r.read<uint8_t>("a u8 value"); break;
    case GgufType::kI8: v.i = r.read<int8_t>("an i8 value"); break;
    case GgufType::kU16: v.u = r.read<uint16_t>("a u16 value"); break;
    case GgufType::kI16: v.i = r.read<int16_t>("an i16 value"); break;
    case GgufType::kU32: v.u = r.read<uint32_t>("a u32 value"); break;
    case GgufType::kI32: v.i = r.read<int32_t>("an i32 value"); break;
    case GgufType::kF32: v.f = r.read<float>("an f32 value"); break;
    case GgufType::kU64: v.u = r.read<uint64_t>("a u64 value"); break;
    case GgufType::kI64: v.i = r.read<int64_t>("an i64 value"); break;
    case GgufType::kF64: v.f = r.read<double>("an f64 value"); break;
    case GgufType::kBool: {
      const uint8_t b = r.read<uint8_t>("a bool value");
      FORGE_CHECK(b <= 1, "[gguf] {}: metadata '{}' has bool byte {} (must be 0 or 1)", file, key, b);
      v.u = b;
      break;
    }
    case GgufType::kString: v.s = r.read_string("a string value"); break;
    case GgufType::kArray: {
      FORGE_CHECK(depth < kMaxArrayDepth, "[gguf] {}: metadata '{}' nests arrays deeper than {}", file, key,
                  kMaxArrayDepth);
      const uint32_t et = r.read<uint32_t>("an array element type");
      FORGE_CHECK(valid_type(et), "[gguf] {}: metadata '{}' has array element type id {} (valid: 0..12)", file, key,
                  et);
      v.array_type = static_cast<GgufType>(et);
      const uint64_t n = r.read<uint64_t>("an array length");
      FORGE_CHECK(n <= r.remaining() / min_value_bytes(v.array_type),
                  "[gguf] {}: metadata '{}' claims {} array elements of type {} but only {} bytes remain", file, key, n,
                  gguf_type_name(v.array_type), r.remaining());
      v.array.reserve(static_cast<size_t>(n));
      for (uint64_t k = 0; k < n; ++k) v.array.push_back(read_value(r, v.array_type, key, file, depth + 1));
      break;
    }
  }
  return v;
}

bool is_unsigned(GgufType t) {
  return t == GgufType::kU8 || t == GgufType::kU16 || t == GgufType::kU32 || t == GgufType::kU64;
}
bool is_signed(GgufType t) {
  return t == GgufType::kI8 || t == GgufType::kI16 || t == GgufType::kI32 || t == GgufType::kI64;
}

// ---- writing helpers
void put_bytes(std::string& out, const void* p, size_t n) { out.append(static_cast<const char*>(p), n); }
template <typename T>
void put(std::string& out, T v) {
  put_bytes(out, &v, sizeof(T));
}
void put_string(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.append(s);
}

void put_value(std::string& out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kU8: put<uint8_t>(out, static_cast<uint8_t>(v.u)); break;
    case GgufType::kI8: put<int8_t>(out, static_cast<int8_t>(v.i)); break;
    case GgufType::kU16: put<uint16_t>(out, static_cast<uint16_t>(v.u)); break;
    case GgufType::kI16: put<int16_t>(out, static_cast<int16_t>(v.i)); break;
    case GgufType::kU32: put<uint32_t>(out, static_cast<uint32_t>(v.u)); break;
    case GgufType::kI32: put<int32_t>(out, static_cast<int32_t>(v.i)); break;
    case GgufType::kF32: put<float>(out, static_cast<float>(v.f)); break;
    case GgufType::kU64: put<uint64_t>(out, v.u); break;
    case GgufType::kI64: put<int64_t>(out, v.i); break;
    case GgufType::kF64: put<double>(out, v.f); break;
    case GgufType::kBool: put<uint8_t>(out, v.u ? 1 : 0); break;
    case GgufType::kString: put_string(out, v.s); break;
    case GgufType::kArray:
      put<uint32_t>(out, static_cast<uint32_t>(v.array_type));
      put<uint64_t>(out, v.array.size());
      for (const auto& e : v.array) {
        FORGE_CHECK(e.type == v.array_type, "[gguf] array of {} holds a {} element", gguf_type_name(v.array_type),
                    gguf_type_name(e.type));
        put_value(out, e);
      }
      break;
  }
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  static constexpr std::string_view kNames[] = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                                "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(type);
  return i < std::size(kNames) ? kNames[i] : std::string_view("invalid");
}

std::string ggml_type_name(uint32_t type) {
  const GgmlTypeInfo* t = find_ggml_type(type);
  return t ? std::string(t->name) : fmt::format("type {}", type);
}

GgmlType ggml_type_of(DType dtype) {
  for (const auto& t : kGgmlTypes) {
    if (t.supported && t.dtype == dtype) return static_cast<GgmlType>(t.id);
  }
  fail("[gguf] dtype {} has no GGUF tensor type", dtype_name(dtype));
}

// ---- GgufValue

int64_t GgufValue::as_int(const std::string& key) const {
  if (is_signed(type)) return i;
  if (is_unsigned(type) || type == GgufType::kBool) {
    FORGE_CHECK(u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
                "[gguf] metadata '{}' value {} does not fit in int64", key, u);
    return static_cast<int64_t>(u);
  }
  fail("[gguf] metadata '{}' is {}, expected an integer", key, gguf_type_name(type));
}

double GgufValue::as_float(const std::string& key) const {
  if (type == GgufType::kF32 || type == GgufType::kF64) return f;
  if (is_signed(type)) return static_cast<double>(i);
  if (is_unsigned(type)) return static_cast<double>(u);
  fail("[gguf] metadata '{}' is {}, expected a number", key, gguf_type_name(type));
}

bool GgufValue::as_bool(const std::string& key) const {
  FORGE_CHECK(type == GgufType::kBool, "[gguf] metadata '{}' is {}, expected bool", key, gguf_type_name(type));
  return u != 0;
}

const std::string& GgufValue::as_string(const std::string& key) const {
  FORGE_CHECK(type == GgufType::kString, "[gguf] metadata '{}' is {}, expected string", key, gguf_type_name(type));
  return s;
}

const std::vector<GgufValue>& GgufValue::as_array(const std::string& key) const {
  FORGE_CHECK(type == GgufType::kArray, "[gguf] metadata '{}' is {}, expected array", key, gguf_type_name(type));
  return array;
}

std::vector<std::string> GgufValue::as_strings(const std::string& key) const {
  const auto& a = as_array(key);
  FORGE_CHECK(array_type == GgufType::kString, "[gguf] metadata '{}' is an array of {}, expected strings", key,
              gguf_type_name(array_type));
  std::vector<std::string> out;
  out.reserve(a.size());
  for (const auto& e : a) out.push_back(e.s);
  return out;
}

std::vector<int64_t> GgufValue::as_ints(const std::string& key) const {
  const auto& a = as_array(key);
  std::vector<int64_t> out;
  out.reserve(a.size());
  for (const auto& e : a) out.push_back(e.as_int(key));
  return out;
}

std::vector<float> GgufValue::as_floats(const std::string& key) const {
  const auto& a = as_array(key);
  std::vector<float> out;
  out.reserve(a.size());
  for (const auto& e : a) out.push_back(static_cast<float>(e.as_float(key)));
  return out;
}

std::string GgufValue::to_string(size_t max_items) const {
  switch (type) {
    case GgufType::kU8: case GgufType::kU16: case GgufType::kU32: case GgufType::kU64: return std::to_string(u);
    case GgufType::kI8: case GgufType::kI16: case GgufType::kI32: case GgufType::kI64: return std::to_string(i);
    case GgufType::kF32: case GgufType::kF64: return fmt::format("{}", f);
    case GgufType::kBool: return u ? "true" : "false";
    case GgufType::kString: {
      std::string t = s.size() > 60 ? s.substr(0, 57) + "..." : s;
      for (char& c : t) {
        if (c == '\n' || c == '\r' || c == '\t') c = ' ';
      }
      return fmt::format("\"{}\"", t);
    }
    case GgufType::kArray: {
      std::string out = "[";
      const size_t shown = std::min(array.size(), max_items);
      for (size_t k = 0; k < shown; ++k) out += (k ? ", " : "") + array[k].to_string(max_items);
      if (array.size() > shown) out += fmt::format(", ... ({} {} in all)", array.size(), gguf_type_name(array_type));
      return out + "]";
    }
  }
  return "?";
}

GgufValue GgufValue::from_u32(uint32_t v) { GgufValue r; r.type = GgufType::kU32; r.u = v; return r; }
GgufValue GgufValue::from_i32(int32_t v) { GgufValue r; r.type = GgufType::kI32; r.i = v; return r; }
GgufValue GgufValue::from_u64(uint64_t v) { GgufValue r; r.type = GgufType::kU64; r.u = v; return r; }
GgufValue GgufValue::from_f32(float v) { GgufValue r; r.type = GgufType::kF32; r.f = v; return r; }
GgufValue GgufValue::from_bool(bool v) { GgufValue r; r.type = GgufType::kBool; r.u = v ? 1 : 0; return r; }
GgufValue GgufValue::from_string(std::string v) {
  GgufValue r;
  r.type = GgufType::kString;
  r.s = std::move(v);
  return r;
}
GgufValue GgufValue::from_strings(const std::vector<std::string>& v) {
  GgufValue r;
  r.type = GgufType::kArray;
  r.array_type = GgufType::kString;
  for (const auto& s : v) r.array.push_back(from_string(s));
  return r;
}
GgufValue GgufValue::from_i32s(const std::vector<int32_t>& v) {
  GgufValue r;
  r.type = GgufType::kArray;
  r.array_type = GgufType::kI32;
  for (int32_t x : v) r.array.push_back(from_i32(x));
  return r;
}
GgufValue GgufValue::from_f32s(const std::vector<float>& v) {
  GgufValue r;
  r.type = GgufType::kArray;
  r.array_type = GgufType::kF32;
  for (float x : v) r.array.push_back(from_f32(x));
  return r;
}

// ---- GgufFile

bool GgufFile::has(const std::string& key) const { return key_index_.count(key) > 0; }

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = key_index_.find(key);
  return it == key_index_.end() ? nullptr : &metadata[it->second].second;
}

const GgufValue& GgufFile::at(const std::string& key) const {
  const GgufValue* v = find(key);
  FORGE_CHECK(v != nullptr, "[gguf] {}: metadata key '{}' is missing", path(), key);
  return *v;
}

int64_t GgufFile::get_int(const std::string& key, int64_t fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_int(key) : fallback;
}

double GgufFile::get_float(const std::string& key, double fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_float(key) : fallback;
}

std::string GgufFile::get_string(const std::string& key, const std::string& fallback) const {
  const GgufValue* v = find(key);
  return v ? v->as_string(key) : fallback;
}

std::string GgufFile::architecture() const { return at("general.architecture").as_string("general.architecture"); }

bool GgufFile::has_tensor(const std::string& name) const { return tensor_index_.count(name) > 0; }

const GgufTensorInfo& GgufFile::info(const std::string& name) const {
  auto it = tensor_index_.find(name);
  FORGE_CHECK(it != tensor_index_.end(), "[gguf] {}: no tensor named '{}'", path(), name);
  return tensor_infos[it->second];
}

uint64_t GgufFile::total_tensor_bytes() const {
  uint64_t total = 0;
  for (const auto& t : tensor_infos) total += t.nbytes;
  return total;
}

Tensor GgufFile::tensor(const std::string& name) const {
  const GgufTensorInfo& ti = info(name);
  FORGE_CHECK(ti.supported, "[gguf] {}: tensor '{}' has type {}, which Forge does not support (supported: F32, F16, "
              "BF16, F64, I32, I64, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K)", path(), name,
              ggml_type_name(ti.type));
  const uint64_t absolute = data_offset + ti.offset;
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = ti.shape;
  impl->strides = contiguous_strides(ti.shape);
  impl->dtype = ti.dtype;
  const size_t elem_align = is_quantized(ti.dtype) ? 1 : block_bytes(ti.dtype);
  const uint8_t* ptr = source->data() + absolute;
  if (reinterpret_cast<uintptr_t>(ptr) % elem_align == 0) {  // zero-copy: the view keeps the mapping alive
    std::shared_ptr<Storage> keep = source->storage();
    impl->storage = Storage::wrap(const_cast<uint8_t*>(ptr), static_cast<size_t>(ti.nbytes), [keep] {});
  } else {  // misaligned plain type (alignment < element size): copy
    impl->storage = Storage::allocate(static_cast<size_t>(ti.nbytes));
    if (ti.nbytes) std::memcpy(impl->storage->data(), ptr, static_cast<size_t>(ti.nbytes));
  }
  return Tensor(impl);
}

GgufFile load_gguf(const std::string& path) { return load_gguf(open_file(path)); }

bool is_gguf_file(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  uint32_t magic = 0;
  const bool ok = std::fread(&magic, 4, 1, f) == 1;
  std::fclose(f);
  return ok && magic == kMagic;
}

GgufFile load_gguf(const std::shared_ptr<ByteSource>& source) {
  const std::string& file = source->name();
  const size_t size = source->size();
  GgufFile g;
  g.source = source;
  Reader r(source->data(), size, file);
  FORGE_CHECK(size >= 24, "[gguf] {}: file is {} bytes, too short for a GGUF header (24 bytes)", file, size);
  const uint32_t magic = r.read<uint32_t>("the magic");
  FORGE_CHECK(magic == kMagic, "[gguf] {}: not a GGUF file (magic 0x{:08x}, expected 0x{:08x} \"GGUF\")", file, magic,
              kMagic);
  g.version = r.read<uint32_t>("the version");
  FORGE_CHECK(g.version != 1, "[gguf] {}: GGUF version 1 is not supported (re-convert the model; 2 and 3 are)", file);
  FORGE_CHECK(g.version == 2 || g.version == 3,
              "[gguf] {}: unsupported GGUF version {} (supported: 2, 3; a big-endian file reads as 0x{:08x})", file,
              g.version, g.version);
  const uint64_t n_tensors = r.read<uint64_t>("the tensor count");
  const uint64_t n_kv = r.read<uint64_t>("the metadata count");
  // Each metadata entry takes at least 8 (key length) + 4 (type) + 1 bytes; each tensor info 8 + 4 + 4 + 8.
  FORGE_CHECK(n_kv <= r.remaining() / 13, "[gguf] {}: header claims {} metadata entries but the file has only {} bytes",
              file, n_kv, size);
  FORGE_CHECK(n_tensors <= r.remaining() / 24, "[gguf] {}: header claims {} tensors but the file has only {} bytes",
              file, n_tensors, size);

  g.metadata.reserve(static_cast<size_t>(n_kv));
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = r.read_string("a metadata key");
    const uint32_t type = r.read<uint32_t>("a metadata type");
    FORGE_CHECK(valid_type(type), "[gguf] {}: metadata '{}' has type id {} (valid: 0..12)", file, key, type);
    GgufValue value = read_value(r, static_cast<GgufType>(type), key, file, 0);
    FORGE_CHECK(!g.key_index_.count(key), "[gguf] {}: duplicate metadata key '{}'", file, key);
    g.key_index_[key] = g.metadata.size();
    g.metadata.emplace_back(std::move(key), std::move(value));
  }
  if (const GgufValue* a = g.find("general.alignment")) {
    FORGE_CHECK(a->type == GgufType::kU32, "[gguf] {}: general.alignment is {}, expected u32", file,
                gguf_type_name(a->type));
    FORGE_CHECK(a->u > 0 && (a->u & (a->u - 1)) == 0, "[gguf] {}: general.alignment {} is not a power of two", file,
                a->u);
    g.alignment = a->u;
  }

  g.tensor_infos.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo ti;
    ti.name = r.read_string("a tensor name");
    const uint32_t n_dims = r.read<uint32_t>("a tensor's dimension count");
    FORGE_CHECK(n_dims <= kMaxDims, "[gguf] {}: tensor '{}' has {} dimensions (at most {})", file, ti.name, n_dims,
                kMaxDims);
    uint64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t dim = r.read<uint64_t>("a tensor dimension");
      FORGE_CHECK(dim <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) &&
                      (dim == 0 || numel <= (uint64_t{1} << 62) / dim),
                  "[gguf] {}: tensor '{}' dimension {} = {} overflows the element count", file, ti.name, d, dim);
      numel *= dim;
      ti.ne.push_back(dim);
    }
    ti.type = r.read<uint32_t>("a tensor type");
    ti.offset = r.read<uint64_t>("a tensor offset");
    const GgmlTypeInfo* t = find_ggml_type(ti.type);
    FORGE_CHECK(t != nullptr, "[gguf] {}: tensor '{}' has unknown ggml type id {}", file, ti.name, ti.type);
    const uint64_t ne0 = ti.ne.empty() ? 1 : ti.ne[0];
    FORGE_CHECK(ne0 % t->block == 0, "[gguf] {}: tensor '{}' of type {} has ne[0] = {}, not a multiple of its block "
                "size {}", file, ti.name, t->name, ne0, t->block);
    ti.nbytes = numel / t->block * t->bytes;
    ti.supported = t->supported;
    ti.dtype = t->dtype;
    for (auto it = ti.ne.rbegin(); it != ti.ne.rend(); ++it) ti.shape.push_back(static_cast<int64_t>(*it));
    FORGE_CHECK(ti.offset % g.alignment == 0, "[gguf] {}: tensor '{}' offset {} is not a multiple of the alignment {}",
                file, ti.name, ti.offset, g.alignment);
    FORGE_CHECK(!g.tensor_index_.count(ti.name), "[gguf] {}: duplicate tensor name '{}'", file, ti.name);
    g.tensor_index_[ti.name] = g.tensor_infos.size();
    g.tensor_infos.push_back(std::move(ti));
  }

  g.data_offset = align_up(r.pos(), g.alignment);
  const uint64_t data_size = g.data_offset <= size ? size - g.data_offset : 0;
  FORGE_CHECK(n_tensors == 0 || g.data_offset <= size,
              "[gguf] {}: data section starts at byte {} past the end of the {}-byte file", file, g.data_offset, size);
  std::vector<std::pair<uint64_t, size_t>> ranges;
  for (size_t k = 0; k < g.tensor_infos.size(); ++k) {
    const auto& ti = g.tensor_infos[k];
    FORGE_CHECK(ti.offset <= data_size && ti.nbytes <= data_size - ti.offset,
                "[gguf] {}: tensor '{}' ({} bytes at data offset {}) runs past the end of the file ({} data bytes)",
                file, ti.name, ti.nbytes, ti.offset, data_size);
    ranges.emplace_back(ti.offset, k);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t k = 1; k < ranges.size(); ++k) {
    const auto& prev = g.tensor_infos[ranges[k - 1].second];
    const auto& cur = g.tensor_infos[ranges[k].second];
    FORGE_CHECK(cur.nbytes == 0 || prev.offset + prev.nbytes <= cur.offset,
                "[gguf] {}: tensors '{}' and '{}' overlap (data offsets {} + {} bytes > {})", file, prev.name, cur.name,
                prev.offset, prev.nbytes, cur.offset);
  }
  return g;
}

void save_gguf(const std::string& path, const std::vector<std::pair<std::string, GgufValue>>& metadata,
               const std::vector<std::pair<std::string, Tensor>>& tensors, uint64_t alignment) {
  FORGE_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0 && alignment <= 0xffffffffu,
              "[gguf] alignment {} must be a power of two", alignment);
  std::vector<std::pair<std::string, GgufValue>> kv;
  bool has_alignment = false;
  std::map<std::string, int> seen;
  for (const auto& [key, value] : metadata) {
    FORGE_CHECK(!seen.count(key), "[gguf] duplicate metadata key '{}'", key);
    seen[key] = 1;
    if (key == "general.alignment") {
      has_alignment = true;
      kv.emplace_back(key, GgufValue::from_u32(static_cast<uint32_t>(alignment)));
    } else {
      kv.emplace_back(key, value);
    }
  }
  if (!has_alignment && alignment != 32) kv.emplace_back("general.alignment", GgufValue::from_u32(static_cast<uint32_t>(alignment)));

  std::string header;
  put<uint32_t>(header, kMagic);
  put<uint32_t>(header, 3);
  put<uint64_t>(header, tensors.size());
  put<uint64_t>(header, kv.size());
  for (const auto& [key, value] : kv) {
    put_string(header, key);
    put<uint32_t>(header, static_cast<uint32_t>(value.type));
    put_value(header, value);
  }
  std::vector<Tensor> contiguous;
  std::vector<uint64_t> offsets;
  std::map<std::string, int> names;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    FORGE_CHECK(!names.count(name), "[gguf] duplicate tensor name '{}'", name);
    names[name] = 1;
    FORGE_CHECK(tensor.defined(), "[gguf] tensor '{}' is undefined", name);
    FORGE_CHECK(tensor.dim() <= static_cast<int64_t>(kMaxDims), "[gguf] tensor '{}' has {} dimensions (at most {})",
                name, tensor.dim(), kMaxDims);
    const GgmlType type = ggml_type_of(tensor.dtype());
    Tensor c = is_quantized(tensor.dtype()) ? tensor : tensor.contiguous();
    const int64_t inner = c.dim() ? c.shape().back() : 1;
    FORGE_CHECK(inner % block_size(c.dtype()) == 0, "[gguf] tensor '{}' of dtype {}: last dimension {} is not a "
                "multiple of the block size {}", name, dtype_name(c.dtype()), inner, block_size(c.dtype()));
    put_string(header, name);
    put<uint32_t>(header, static_cast<uint32_t>(c.dim()));
    for (int64_t d = c.dim() - 1; d >= 0; --d) put<uint64_t>(header, static_cast<uint64_t>(c.shape()[d]));
    put<uint32_t>(header, static_cast<uint32_t>(type));
    put<uint64_t>(header, offset);
    offsets.push_back(offset);
    offset = align_up(offset + nbytes_for(c.dtype(), c.numel()), alignment);
    contiguous.push_back(c);
  }
  header.resize(static_cast<size_t>(align_up(header.size(), alignment)), '\0');
  write_file_atomic(path, [&](std::FILE* f) {
    bool ok = std::fwrite(header.data(), 1, header.size(), f) == header.size();
    static const char kZeros[256] = {};
    uint64_t written = 0;
    for (size_t k = 0; k < contiguous.size(); ++k) {
      while (written < offsets[k]) {  // padding between tensors
        const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), offsets[k] - written));
        ok = ok && std::fwrite(kZeros, 1, n, f) == n;
        written += n;
      }
      const size_t bytes = nbytes_for(contiguous[k].dtype(), contiguous[k].numel());
      if (bytes) ok = ok && std::fwrite(contiguous[k].raw_data(), 1, bytes, f) == bytes;
      written += bytes;
    }
    FORGE_CHECK(ok, "[gguf] short write to {}", path);
  });
}

}  // namespace forge
