#pragma once
// safetensors (https://huggingface.co/docs/safetensors): an 8-byte little-endian header length,
// a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then raw bytes.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "formats/byte_source.h"

namespace forge {

struct SafetensorsFile {
  std::map<std::string, Tensor> tensors;  // zero-copy views of the mapped file when aligned
  std::map<std::string, std::string> metadata;
  const Tensor& at(const std::string& name) const;  // throws naming the missing tensor
};

// Validates the header (size, JSON, dtypes, shapes, offsets inside the file, no overlaps)
// and throws "[safetensors] FILE: what is wrong" on any problem.
SafetensorsFile load_safetensors(const std::string& path);
SafetensorsFile load_safetensors(const std::shared_ptr<ByteSource>& source);

// Writes tensors (any plain dtype) crash-safely; names must be unique.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace forge
