#pragma once
// The bodies of the format-reader fuzz targets, shared by the libFuzzer entry points
// (tools/fuzz/*_fuzz.cpp, built with clang by tools/fuzz/run_fuzz.sh) and the corpus replay
// in the normal test suite (tests/formats/fuzz_corpus_test.cpp, any compiler).
//
// Contract checked for every input: the reader either loads it, and then every tensor lies
// inside the input and every byte of it can be read, or it throws forge::Error. Anything else
// (a crash, another exception type, a tensor outside the input) aborts.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/safetensors.h"
#include "formats/safetensors_sharded.h"

namespace forge::fuzz {

// Input bytes as a ByteSource (no file needed); the bytes are copied into a Storage so that
// tensors may view them.
class MemorySource : public ByteSource {
 public:
  MemorySource(const uint8_t* data, size_t size, std::string name) : name_(std::move(name)), size_(size) {
    storage_ = Storage::allocate(size ? size : 1);
    if (size) std::memcpy(storage_->data(), data, size);
  }
  const std::string& name() const override { return name_; }
  size_t size() const override { return size_; }
  const uint8_t* data() const override { return static_cast<const uint8_t*>(storage_->data()); }
  std::shared_ptr<Storage> storage() override { return storage_; }

 private:
  std::string name_;
  size_t size_;
  std::shared_ptr<Storage> storage_;
};

[[noreturn]] inline void contract_broken(const char* what) {
  std::fprintf(stderr, "fuzz contract broken: %s\n", what);
  std::abort();
}

// Reads every byte of a loaded tensor (ASan catches a view past its storage).
inline uint64_t touch(const Tensor& t) {
  const size_t bytes = nbytes_for(t.dtype(), t.numel());
  const auto* p = static_cast<const uint8_t*>(t.raw_data());
  uint64_t sum = 0;
  for (size_t i = 0; i < bytes; ++i) sum += p[i];
  return sum;
}

// GGUF: the whole input is one file. Returns true when it loaded.
inline bool gguf_one_input(const uint8_t* data, size_t size) {
  try {
    GgufFile g = load_gguf(std::make_shared<MemorySource>(data, size, "fuzz.gguf"));
    for (const auto& ti : g.tensor_infos) {
      if (g.data_offset + ti.offset + ti.nbytes > size) contract_broken("gguf tensor outside the input");
      if (ti.supported) (void)touch(g.tensor(ti.name));
    }
    for (const auto& kv : g.metadata) (void)kv.second.to_string();
    return true;
  } catch (const Error&) {
    return false;
  }
}

// Separates the index JSON from the shards in a sharded safetensors input.
inline constexpr std::string_view kShardSeparator = "\n#shard\n";

inline bool check_safetensors(const SafetensorsFile& f, size_t total_bytes) {
  for (const auto& [name, t] : f.tensors) {
    if (nbytes_for(t.dtype(), t.numel()) > total_bytes) contract_broken("safetensors tensor larger than the input");
    (void)touch(t);
  }
  return true;
}

// safetensors, two modes chosen by the first byte:
//  * '{': a sharded checkpoint. The input is split at kShardSeparator: the first part is
//    model.safetensors.index.json, part i (1-based) is the file shard-<i>.safetensors; all are
//    written to a per-process temp directory and loaded with load_safetensors_checkpoint.
//  * anything else: the whole input is one .safetensors file (loaded from memory).
// Returns true when it loaded.
inline bool safetensors_one_input(const uint8_t* data, size_t size) {
  try {
    if (size == 0 || data[0] != '{') {
      return check_safetensors(load_safetensors(std::make_shared<MemorySource>(data, size, "fuzz.safetensors")), size);
    }
    namespace fs = std::filesystem;
    static const fs::path dir = fs::temp_directory_path() / ("forge_fuzz_st_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    size_t begin = 0;
    for (int part = 0;; ++part) {
      const size_t sep = all.find(kShardSeparator, begin);
      const std::string_view piece = all.substr(begin, sep == std::string_view::npos ? std::string_view::npos : sep - begin);
      const std::string file = part == 0 ? "model.safetensors.index.json" : "shard-" + std::to_string(part) + ".safetensors";
      std::ofstream(dir / file, std::ios::binary).write(piece.data(), static_cast<std::streamsize>(piece.size()));
      if (sep == std::string_view::npos) break;
      begin = sep + kShardSeparator.size();
    }
    bool loaded = false;
    try {
      loaded = check_safetensors(load_safetensors_checkpoint(dir.string()), size);
    } catch (const Error&) {
    }
    fs::remove_all(dir);
    return loaded;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace forge::fuzz
