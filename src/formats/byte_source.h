#pragma once
// Every file Forge loads goes through ByteSource, so that a decrypting source (encrypted model
// files) can slot in later without touching the format readers.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/storage.h"

namespace forge {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual const std::string& name() const = 0;  // for error messages
  virtual size_t size() const = 0;
  // All bytes, valid for the source's lifetime (mmap'd for plain files).
  virtual const uint8_t* data() const = 0;
  // Keeps the bytes alive for tensors that view them without copying.
  virtual std::shared_ptr<Storage> storage() = 0;
};

// Memory-maps a file read-only. Throws "[file] cannot open PATH: reason".
std::shared_ptr<ByteSource> open_file(const std::string& path);

// Drops this process's resident pages of [p, p + bytes) (the whole pages inside the range) once
// their contents live on elsewhere (a packed copy of the weights). Only acts when the range lies
// inside a file mapped by open_file: those mappings are read-only, so a page touched again is
// re-read from the file and nothing is lost (MADV_DONTNEED). It works whoever else maps or caches
// the file (MADV_PAGEOUT skipped pages that another process also mapped). Returns whether it acted.
bool release_file_pages(const void* p, size_t bytes);
// The same for the whole file mapped by open_file that holds `inside` (once nothing reads the
// mapping any more, e.g. every weight of a model lives on in a packed copy). Returns whether it
// acted: false when `inside` is not in such a mapping.
bool release_mapped_file_pages(const void* inside);

// Writes a file so that a crash at any moment leaves either the old or the new contents:
// write to PATH.tmp-PID, fsync, rename over PATH, fsync the directory.
void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& write);

}  // namespace forge
