#pragma once
// Element types. Compute kernels exist for f32 today; the others are storage types that
// casts, loaders (safetensors, GGUF) and later kernels (bf16 matmul, quantized matmul) use.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace forge {

enum class DType : uint8_t {
  kF32,
  kF64,
  kF16,
  kBF16,
  kI32,
  kI64,
  kU8,
  // Block-quantized (GGUF layouts): elements are packed in blocks; see block_size().
  kQ8_0,
  kQ4_0,
  kQ4_1,
  kQ5_0,
  kQ5_1,
  kQ4_K,
  kQ5_K,
  kQ6_K,
};

// Number of elements in one block (1 for plain types).
int64_t block_size(DType dtype);
// Bytes per block (bytes per element for plain types).
size_t block_bytes(DType dtype);
// Bytes needed for `numel` elements; numel must be a multiple of block_size().
size_t nbytes_for(DType dtype, int64_t numel);
bool is_quantized(DType dtype);
bool is_floating(DType dtype);
std::string_view dtype_name(DType dtype);

template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() { return DType::kF32; }
template <>
constexpr DType dtype_of<double>() { return DType::kF64; }
template <>
constexpr DType dtype_of<int32_t>() { return DType::kI32; }
template <>
constexpr DType dtype_of<int64_t>() { return DType::kI64; }
template <>
constexpr DType dtype_of<uint8_t>() { return DType::kU8; }

}  // namespace forge
