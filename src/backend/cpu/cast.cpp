#include "backend/cpu/cast.h"

#include "backend/cpu/half.h"
#include "backend/cpu/strided_loop.h"

namespace forge::cpu {

namespace {

// Every plain dtype is read as double and written from double: exact for all values the
// narrower types can hold, and casts are not on any hot path.
template <typename F>
void dispatch_plain(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::kF32: return f(float{});
    case DType::kF64: return f(double{});
    case DType::kI32: return f(int32_t{});
    case DType::kI64: return f(int64_t{});
    case DType::kU8: return f(uint8_t{});
    case DType::kBF16:
    case DType::kF16: return f(uint16_t{});
    default: fail("[{}] dtype {} is not supported here", op, dtype_name(dtype));
  }
}

double load(const void* base, int64_t i, DType dtype) {
  switch (dtype) {
    case DType::kF32: return static_cast<const float*>(base)[i];
    case DType::kF64: return static_cast<const double*>(base)[i];
    case DType::kI32: return static_cast<const int32_t*>(base)[i];
    case DType::kI64: return static_cast<double>(static_cast<const int64_t*>(base)[i]);
    case DType::kU8: return static_cast<const uint8_t*>(base)[i];
    case DType::kBF16: return bf16_to_float(static_cast<const uint16_t*>(base)[i]);
    case DType::kF16: return f16_to_float(static_cast<const uint16_t*>(base)[i]);
    default: return 0;
  }
}

void store(void* base, int64_t i, DType dtype, double v) {
  switch (dtype) {
    case DType::kF32: static_cast<float*>(base)[i] = static_cast<float>(v); break;
    case DType::kF64: static_cast<double*>(base)[i] = v; break;
    case DType::kI32: static_cast<int32_t*>(base)[i] = static_cast<int32_t>(v); break;
    case DType::kI64: static_cast<int64_t*>(base)[i] = static_cast<int64_t>(v); break;
    case DType::kU8: static_cast<uint8_t*>(base)[i] = static_cast<uint8_t>(v); break;
    case DType::kBF16: static_cast<uint16_t*>(base)[i] = float_to_bf16(static_cast<float>(v)); break;
    case DType::kF16: static_cast<uint16_t*>(base)[i] = float_to_f16(static_cast<float>(v)); break;
    default: break;
  }
}

// dst[off1 + i*st1] = src[off0 + i*st0] for i < n, elements of type T (any bit pattern).
template <typename T, typename Off, typename St>
void strided_move(const char* src, char* dst, const Off& off, int64_t n, const St& st) {
  const T* s = reinterpret_cast<const T*>(src) + off[0];
  T* d = reinterpret_cast<T*>(dst) + off[1];
  const int64_t ss = st[0], ds = st[1];
  for (int64_t i = 0; i < n; ++i) d[i * ds] = s[i * ss];
}

}  // namespace

void fill(const Tensor& dst, double value) {
  dispatch_plain(dst.dtype(), "fill", [](auto) {});
  void* base = dst.storage()->data();
  const DType dtype = dst.dtype();
  StridedLoop<1> loop(dst.shape(), {dst.strides()});
  if (dtype == DType::kF32) {
    const float v = static_cast<float>(value);
    float* p = static_cast<float*>(base);
    loop.run({dst.offset()}, [&](const auto& off, int64_t n, const auto& st) {
      for (int64_t i = 0; i < n; ++i) p[off[0] + i * st[0]] = v;
    });
    return;
  }
  loop.run({dst.offset()}, [&](const auto& off, int64_t n, const auto& st) {
    for (int64_t i = 0; i < n; ++i) store(base, off[0] + i * st[0], dtype, value);
  });
}

void copy_cast(const Tensor& src, const Tensor& dst) {
  FORGE_CHECK(src.shape() == dst.shape(), "[copy] shapes differ: {} vs {}", shape_str(src.shape()),
              shape_str(dst.shape()));
  dispatch_plain(src.dtype(), "copy", [](auto) {});
  dispatch_plain(dst.dtype(), "copy", [](auto) {});
  const void* in = src.storage()->data();
  void* out = dst.storage()->data();
  StridedLoop<2> loop(src.shape(), {src.strides(), dst.strides()});
  if (src.dtype() == dst.dtype()) {
    const size_t bytes = block_bytes(src.dtype());
    loop.run({src.offset(), dst.offset()}, [&](const auto& off, int64_t n, const auto& st) {
      const char* s = static_cast<const char*>(in);
      char* d = static_cast<char*>(out);
      if (st[0] == 1 && st[1] == 1) {
        std::memcpy(d + off[1] * bytes, s + off[0] * bytes, static_cast<size_t>(n) * bytes);
        return;
      }
      // Strided rows (transposes such as a permuted [N, L, C] -> [N, C, L]): typed element
      // moves; a memcpy call per element of runtime size was most of a text CNN's copies.
      switch (bytes) {
        case 4: return strided_move<uint32_t>(s, d, off, n, st);
        case 8: return strided_move<uint64_t>(s, d, off, n, st);
        case 2: return strided_move<uint16_t>(s, d, off, n, st);
        case 1: return strided_move<uint8_t>(s, d, off, n, st);
        default:
          for (int64_t i = 0; i < n; ++i) {
            std::memcpy(d + (off[1] + i * st[1]) * bytes, s + (off[0] + i * st[0]) * bytes, bytes);
          }
      }
    });
    return;
  }
  const DType sd = src.dtype();
  const DType dd = dst.dtype();
  loop.run({src.offset(), dst.offset()}, [&](const auto& off, int64_t n, const auto& st) {
    for (int64_t i = 0; i < n; ++i) store(out, off[1] + i * st[1], dd, load(in, off[0] + i * st[0], sd));
  });
}

}  // namespace forge::cpu
