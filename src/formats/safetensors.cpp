#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace forge {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeName {
  const char* name;
  DType dtype;
};
constexpr DTypeName kDTypes[] = {{"F32", DType::kF32}, {"F64", DType::kF64}, {"F16", DType::kF16},
                                 {"BF16", DType::kBF16}, {"I32", DType::kI32}, {"I64", DType::kI64},
                                 {"U8", DType::kU8}};

DType parse_dtype(const std::string& name, const std::string& file, const std::string& tensor) {
  for (const auto& d : kDTypes) {
    if (name == d.name) return d.dtype;
  }
  fail("[safetensors] {}: tensor '{}' has unsupported dtype '{}' (supported: F32, F64, F16, BF16, I32, I64, U8)", file,
       tensor, name);
}

const char* dtype_to_name(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  fail("[safetensors] cannot store dtype {}", dtype_name(dtype));
}

}  // namespace

const Tensor& SafetensorsFile::at(const std::string& name) const {
  auto it = tensors.find(name);
  FORGE_CHECK(it != tensors.end(), "[safetensors] no tensor named '{}'", name);
  return it->second;
}

SafetensorsFile load_safetensors(const std::string& path) { return load_safetensors(open_file(path)); }

SafetensorsFile load_safetensors(const std::shared_ptr<ByteSource>& source) {
  const std::string& file = source->name();
  const size_t size = source->size();
  FORGE_CHECK(size >= 8, "[safetensors] {}: file is {} bytes, too short for a header", file, size);
  uint64_t header_len = 0;
  std::memcpy(&header_len, source->data(), 8);
  FORGE_CHECK(header_len <= kMaxHeaderBytes && header_len <= size - 8,
              "[safetensors] {}: header length {} exceeds the file size {}", file, header_len, size);
  const char* header = reinterpret_cast<const char*>(source->data() + 8);
  nlohmann::json json = nlohmann::json::parse(header, header + header_len, nullptr, false);
  FORGE_CHECK(!json.is_discarded() && json.is_object(), "[safetensors] {}: header is not a JSON object", file);

  SafetensorsFile result;
  const uint64_t data_start = 8 + header_len;
  const uint64_t data_size = size - data_start;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  std::shared_ptr<Storage> storage = source->storage();
  for (const auto& [name, entry] : json.items()) {
    if (name == "__metadata__") {
      FORGE_CHECK(entry.is_object(), "[safetensors] {}: __metadata__ must be an object", file);
      for (const auto& [key, value] : entry.items()) {
        FORGE_CHECK(value.is_string(), "[safetensors] {}: metadata '{}' must be a string", file, key);
        result.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    FORGE_CHECK(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                    entry.contains("data_offsets") && entry["dtype"].is_string() && entry["shape"].is_array() &&
                    entry["data_offsets"].is_array() && entry["data_offsets"].size() == 2,
                "[safetensors] {}: tensor '{}' needs dtype, shape and two data_offsets", file, name);
    const DType dtype = parse_dtype(entry["dtype"].get<std::string>(), file, name);
    Shape shape;
    uint64_t numel = 1;
    for (const auto& d : entry["shape"]) {
      FORGE_CHECK(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0),
                  "[safetensors] {}: tensor '{}' has an invalid dimension", file, name);
      const uint64_t dim = d.get<uint64_t>();
      FORGE_CHECK(dim == 0 || numel <= (1ull << 62) / dim, "[safetensors] {}: tensor '{}' shape overflows", file, name);
      numel *= dim;
      shape.push_back(static_cast<int64_t>(dim));
    }
    const auto& offsets = entry["data_offsets"];
    FORGE_CHECK(offsets[0].is_number_unsigned() && offsets[1].is_number_unsigned(),
                "[safetensors] {}: tensor '{}' has non-integer data_offsets", file, name);
    const uint64_t begin = offsets[0].get<uint64_t>();
    const uint64_t end = offsets[1].get<uint64_t>();
    FORGE_CHECK(begin <= end && end <= data_size,
                "[safetensors] {}: tensor '{}' data_offsets [{}, {}] fall outside the {} data bytes", file, name,
                begin, end, data_size);
    const uint64_t expected = numel * block_bytes(dtype);
    FORGE_CHECK(end - begin == expected, "[safetensors] {}: tensor '{}' of shape {} {} needs {} bytes, offsets give {}",
                file, name, shape_str(shape), dtype_name(dtype), expected, end - begin);
    ranges.emplace_back(begin, end);

    const uint64_t absolute = data_start + begin;
    const size_t elem = block_bytes(dtype);
    Tensor t;
    if (absolute % elem == 0) {  // zero-copy view into the mapping
      auto impl = std::make_shared<TensorImpl>();
      impl->storage = storage;
      impl->shape = shape;
      impl->strides = contiguous_strides(shape);
      impl->offset = static_cast<int64_t>(absolute / elem);
      impl->dtype = dtype;
      t = Tensor(impl);
    } else {  // misaligned: copy so element access stays well-defined
      t = empty(shape, dtype);
      if (expected) std::memcpy(t.raw_data(), source->data() + absolute, expected);
    }
    result.tensors.emplace(name, t);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    FORGE_CHECK(ranges[i].first >= ranges[i - 1].second || ranges[i].first == ranges[i].second,
                "[safetensors] {}: tensor data ranges overlap at byte {}", file, ranges[i].first);
  }
  return result;
}

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    FORGE_CHECK(!header.contains(name), "[safetensors] duplicate tensor name '{}'", name);
    FORGE_CHECK(tensor.defined(), "[safetensors] tensor '{}' is undefined", name);
    Tensor c = tensor.contiguous();
    const uint64_t bytes = nbytes_for(c.dtype(), c.numel());
    header[name] = {{"dtype", dtype_to_name(c.dtype())}, {"shape", c.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(c);
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // align the data block to 8 bytes
  write_file_atomic(path, [&](std::FILE* f) {
    const uint64_t len = text.size();
    bool ok = std::fwrite(&len, 8, 1, f) == 1 && std::fwrite(text.data(), 1, text.size(), f) == text.size();
    for (const Tensor& c : contiguous) {
      const size_t bytes = nbytes_for(c.dtype(), c.numel());
      if (bytes) ok = ok && std::fwrite(c.raw_data(), 1, bytes, f) == bytes;
    }
    FORGE_CHECK(ok, "[safetensors] short write to {}", path);
  });
}

}  // namespace forge
