// Packing of GGUF block rows into the 16-row interleaved layout (quant_packed.h), its inverse,
// and the driver of the packed matmul kernels (AVX-512 VNNI, AVX2).
#include "backend/cpu/quant_packed.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "core/error.h"
#include "core/parallel.h"

namespace forge::cpu {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kArenaChunk = size_t{16} << 20;

// Packed weights of a model are allocated from 2 MiB-aligned chunks advised for transparent
// huge pages: decode streams ~100 MB per token, and with 4 KiB pages the hardware prefetchers
// stop at every page boundary and every page costs a TLB miss. Small matrices share a chunk so
// that a model with hundreds of small weights does not round each one up to 2 MiB.
struct ArenaChunk {
  uint8_t* base = nullptr;
  size_t size = 0, used = 0;
  explicit ArenaChunk(size_t bytes) : size((bytes + kHugePage - 1) / kHugePage * kHugePage) {
    base = static_cast<uint8_t*>(std::aligned_alloc(kHugePage, size));
    FORGE_CHECK(base != nullptr, "[quant_pack] out of memory allocating {} bytes for packed weights", size);
#ifdef MADV_HUGEPAGE
    ::madvise(base, size, MADV_HUGEPAGE);
#endif
  }
  ~ArenaChunk() { std::free(base); }
  ArenaChunk(const ArenaChunk&) = delete;
  ArenaChunk& operator=(const ArenaChunk&) = delete;
};

std::shared_ptr<void> arena_alloc(size_t bytes, uint8_t** out) {
  static std::mutex mu;
  static std::shared_ptr<ArenaChunk> current;
  const size_t need = (bytes + 63) / 64 * 64;
  std::lock_guard<std::mutex> lock(mu);
  if (!current || current->size - current->used < need) {
    auto chunk = std::make_shared<ArenaChunk>(std::max(need, kArenaChunk));
    if (need >= kArenaChunk) {  // a large matrix gets its own chunk; keep filling the current one
      *out = chunk->base;
      return {chunk, chunk->base};
    }
    current = std::move(chunk);
  }
  uint8_t* p = current->base + current->used;
  current->used += need;
  *out = p;
  return {current, p};
}

// Bytes of one block of one row in the packed layout: scale (+ min) and the quants.
struct PackGeometry {
  int scale_words;  // f16 words per row per block: 1 (d) or 2 (d, m)
  int chunks;       // 4-byte quant slices per row per block
  size_t src_block;
};

PackGeometry geometry(DType type) {
  switch (type) {
    case DType::kQ4_0: return {1, 4, sizeof(BlockQ4_0)};
    case DType::kQ4_1: return {2, 4, sizeof(BlockQ4_1)};
    case DType::kQ8_0: return {1, 8, sizeof(BlockQ8_0)};
    default: return {0, 0, 0};
  }
}

size_t packed_block_bytes(const PackGeometry& g) {
  return static_cast<size_t>(kPackRows) * (2 * static_cast<size_t>(g.scale_words) + 4 * static_cast<size_t>(g.chunks));
}

// Source fields of one GGUF block: the f16 words (d[, m]) and the quant bytes.
void block_fields(DType type, const uint8_t* blk, uint16_t* words, const uint8_t** qs) {
  std::memcpy(words, blk, type == DType::kQ4_1 ? 4 : 2);
  *qs = blk + (type == DType::kQ4_1 ? 4 : 2);
}

}  // namespace

QuantIsa packed_quant_isa() {
  // FORGE_QUANT_PACKED_ISA (benchmarks compare the paths in one binary): "avx2" runs the AVX2
  // kernel on an AVX-512 CPU, "none" keeps the GGUF row layout and its row kernels.
  static const QuantIsa isa = [] {
    const char* env = std::getenv("FORGE_QUANT_PACKED_ISA");
    const std::string want = env != nullptr ? env : "";
    FORGE_CHECK(want.empty() || want == "avx2" || want == "none",
                "FORGE_QUANT_PACKED_ISA must be 'avx2' or 'none', got '{}'", want);
    if (want == "none") return QuantIsa::kScalar;
    if (want.empty() && quant_isa_supported(QuantIsa::kAvx512Vnni)) return QuantIsa::kAvx512Vnni;
    if (quant_isa_supported(QuantIsa::kAvx2)) return QuantIsa::kAvx2;
    return QuantIsa::kScalar;
  }();
  return isa;
}

bool packed_quant_supported(DType type) {
  return geometry(type).chunks != 0 && packed_quant_isa() != QuantIsa::kScalar;
}

PackedQuantMatrix pack_quant_rows(const void* w, DType type, int64_t N, int64_t K) {
  const PackGeometry geo = geometry(type);
  FORGE_CHECK(geo.chunks != 0, "[quant_pack] no packed layout for weight dtype {} (Q4_0, Q4_1, Q8_0 have one)",
              dtype_name(type));
  FORGE_CHECK(N > 0 && K > 0 && K % 32 == 0, "[quant_pack] shape [{}, {}] must be positive with K a multiple of 32",
              N, K);
  PackedQuantMatrix p;
  p.type = type;
  p.rows = N;
  p.cols = K;
  p.groups = (N + kPackRows - 1) / kPackRows;
  const int64_t nb = K / 32;
  const size_t blk_bytes = packed_block_bytes(geo);
  p.group_bytes = blk_bytes * static_cast<size_t>(nb);
  uint8_t* dst = nullptr;
  p.storage = arena_alloc(p.nbytes(), &dst);
  p.data = dst;
  std::memset(dst, 0, p.nbytes());  // padding rows: zero scales (and, for Q8_0, fixed below)
  const auto* src = static_cast<const uint8_t*>(w);
  const size_t src_row = geo.src_block * static_cast<size_t>(nb);
  const size_t words_bytes = static_cast<size_t>(kPackRows) * 2;
  parallel_for(0, p.groups, 16, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      for (int64_t b = 0; b < nb; ++b) {
        uint8_t* out = dst + static_cast<size_t>(g) * p.group_bytes + static_cast<size_t>(b) * blk_bytes;
        uint8_t* quants = out + words_bytes * static_cast<size_t>(geo.scale_words);
        for (int64_t r = 0; r < kPackRows; ++r) {
          const int64_t row = g * kPackRows + r;
          if (row >= N) {
            // zero row: scale 0; Q8_0 stores q + 128, so a zero quant is 0x80
            if (type == DType::kQ8_0) {
              for (int c = 0; c < geo.chunks; ++c) std::memset(quants + (c * kPackRows + r) * 4, 0x80, 4);
            }
            continue;
          }
          const uint8_t* blk = src + static_cast<size_t>(row) * src_row + static_cast<size_t>(b) * geo.src_block;
          uint16_t words[2];
          const uint8_t* qs = nullptr;
          block_fields(type, blk, words, &qs);
          for (int s = 0; s < geo.scale_words; ++s) std::memcpy(out + words_bytes * s + r * 2, &words[s], 2);
          for (int c = 0; c < geo.chunks; ++c) {
            uint8_t* q = quants + (c * kPackRows + r) * 4;
            std::memcpy(q, qs + 4 * c, 4);
            if (type == DType::kQ8_0) {
              for (int j = 0; j < 4; ++j) q[j] ^= 0x80;
            }
          }
        }
      }
    }
  });
  return p;
}

void unpack_quant_row(const PackedQuantMatrix& p, int64_t row, void* dst) {
  FORGE_CHECK(row >= 0 && row < p.rows, "[quant_pack] row {} out of range [0, {})", row, p.rows);
  const PackGeometry geo = geometry(p.type);
  const int64_t nb = p.cols / 32, g = row / kPackRows, r = row % kPackRows;
  const size_t blk_bytes = packed_block_bytes(geo), words_bytes = static_cast<size_t>(kPackRows) * 2;
  auto* out = static_cast<uint8_t*>(dst);
  const size_t head = p.type == DType::kQ4_1 ? 4 : 2;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* in = p.data + static_cast<size_t>(g) * p.group_bytes + static_cast<size_t>(b) * blk_bytes;
    uint8_t* blk = out + static_cast<size_t>(b) * geo.src_block;
    for (int s = 0; s < geo.scale_words; ++s) std::memcpy(blk + 2 * s, in + words_bytes * s + r * 2, 2);
    const uint8_t* quants = in + words_bytes * static_cast<size_t>(geo.scale_words);
    for (int c = 0; c < geo.chunks; ++c) {
      uint8_t* q = blk + head + 4 * c;
      std::memcpy(q, quants + (c * kPackRows + r) * 4, 4);
      if (p.type == DType::kQ8_0) {
        for (int j = 0; j < 4; ++j) q[j] ^= 0x80;
      }
    }
  }
}

void dequantize_packed_rows(const PackedQuantMatrix& p, int64_t r0, int64_t r1, float* dst) {
  const size_t row_bytes = nbytes_for(p.type, p.cols);
  thread_local std::vector<uint8_t> row;
  if (row.size() < row_bytes) row.resize(row_bytes);
  for (int64_t r = r0; r < r1; ++r) {
    unpack_quant_row(p, r, row.data());
    dequantize_row(p.type, row.data(), dst + (r - r0) * p.cols, p.cols);
  }
}

void quantize_act_rows(const float* x, int64_t M, int64_t K, std::vector<BlockQ8A>& act) {
  const int64_t nb = K / 32;
  if (act.size() < static_cast<size_t>(M * nb)) act.resize(static_cast<size_t>(M * nb));
  BlockQ8A* out = act.data();
  parallel_for(0, M, 8, [&](int64_t m0, int64_t m1) {
    for (int64_t m = m0; m < m1; ++m) quantize_act_q8a(x + m * K, out + m * nb, K);
  });
}

void packed_matmul_groups(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy,
                          int64_t g0, int64_t g1, QuantIsa isa) {
  if (isa == QuantIsa::kAvx512Vnni) {
    packed_matmul_avx512(w, act, M, y, ldy, g0, g1);
  } else {
    packed_matmul_avx2(w, act, M, y, ldy, g0, g1);
  }
}

void packed_quant_matmul_q8(const PackedQuantMatrix& w, const BlockQ8A* act, int64_t M, float* y, int64_t ldy,
                            QuantIsa isa) {
  FORGE_CHECK(isa != QuantIsa::kScalar, "[quant_linear] the packed layout has no scalar kernel");
  FORGE_CHECK(quant_isa_supported(isa), "[quant_linear] this CPU lacks the {} instructions", quant_isa_name(isa));
  if (M <= 0) return;
  // Each thread takes a contiguous run of groups (one linear stream per thread). Prefill rows
  // (large M) make each group expensive, so a small grain still splits evenly.
  const int64_t grain = M >= 8 ? 1 : 16;
  parallel_for(0, w.groups, grain,
               [&](int64_t g0, int64_t g1) { packed_matmul_groups(w, act, M, y, ldy, g0, g1, isa); });
}

void packed_quant_matmul(const PackedQuantMatrix& w, const float* x, int64_t M, float* y, QuantIsa isa) {
  thread_local std::vector<BlockQ8A> act;
  quantize_act_rows(x, M, w.cols, act);
  packed_quant_matmul_q8(w, act.data(), M, y, w.rows, isa);
}

}  // namespace forge::cpu
