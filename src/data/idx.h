#pragma once
// IDX files (the MNIST / Fashion-MNIST format, http://yann.lecun.com/exdb/mnist/): a 4-byte
// magic (two zero bytes, a type code, the number of dimensions), one big-endian uint32 per
// dimension, then the elements in row-major order, big-endian. Files may be gzip-compressed
// (detected from the content, not the name).
#include <memory>
#include <string>

#include "core/tensor.h"
#include "formats/byte_source.h"

namespace forge {

// Reads an IDX file (raw or gzip) through open_file(). Element types map as follows:
// 0x08 uint8 -> U8 (kept as bytes; call .to(DType::kF32) to convert), 0x09 int8, 0x0B int16
// and 0x0C int32 -> I32, 0x0D float32 -> F32, 0x0E float64 -> F64.
// The data must fill the shape exactly; every problem throws "[idx] FILE: what is wrong",
// e.g. "[idx] train.idx: expected 47040000 bytes of data, found 1000".
Tensor load_idx(const std::string& path);
Tensor load_idx(const std::shared_ptr<ByteSource>& source);

}  // namespace forge
