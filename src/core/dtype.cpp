#include "core/dtype.h"

#include "core/error.h"

namespace forge {

namespace {
struct DTypeInfo {
  std::string_view name;
  int64_t block;
  size_t bytes;
  bool floating;
};

// Order matches the DType enum. Quantized block sizes follow the GGUF specification.
constexpr DTypeInfo kInfo[] = {
    {"float32", 1, 4, true},   {"float64", 1, 8, true},  {"float16", 1, 2, true},
    {"bfloat16", 1, 2, true},  {"int32", 1, 4, false},   {"int64", 1, 8, false},
    {"uint8", 1, 1, false},    {"q8_0", 32, 34, true},   {"q4_0", 32, 18, true},
    {"q4_1", 32, 20, true},    {"q5_0", 32, 22, true},   {"q5_1", 32, 24, true},
    {"q4_K", 256, 144, true},  {"q5_K", 256, 176, true}, {"q6_K", 256, 210, true},
};

const DTypeInfo& info(DType dtype) { return kInfo[static_cast<size_t>(dtype)]; }
}  // namespace

int64_t block_size(DType dtype) { return info(dtype).block; }
size_t block_bytes(DType dtype) { return info(dtype).bytes; }
bool is_quantized(DType dtype) { return info(dtype).block > 1; }
bool is_floating(DType dtype) { return info(dtype).floating; }
std::string_view dtype_name(DType dtype) { return info(dtype).name; }

size_t nbytes_for(DType dtype, int64_t numel) {
  const int64_t block = block_size(dtype);
  FORGE_CHECK(numel % block == 0, "[dtype] {} needs a multiple of {} elements, got {}", dtype_name(dtype),
              block, numel);
  return static_cast<size_t>(numel / block) * block_bytes(dtype);
}

}  // namespace forge
