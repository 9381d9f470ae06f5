#include "formats/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <utility>

#include "core/error.h"

namespace forge {

namespace {

// The address ranges of the live read-only file mappings: release_file_pages acts only inside them
// (MADV_DONTNEED on any other memory, e.g. a heap buffer, would zero it).
class MappingRegistry {
 public:
  void add(uintptr_t begin, uintptr_t end) {
    std::lock_guard lock(mutex_);
    ranges_[begin] = end;
  }
  void remove(uintptr_t begin) {
    std::lock_guard lock(mutex_);
    ranges_.erase(begin);
  }
  bool contains(uintptr_t begin, uintptr_t end) const {
    std::lock_guard lock(mutex_);
    auto it = ranges_.upper_bound(begin);
    if (it == ranges_.begin()) return false;
    --it;
    return begin >= it->first && end <= it->second;
  }
  // The mapping [begin, end) holding `addr`, or {0, 0}.
  std::pair<uintptr_t, uintptr_t> holding(uintptr_t addr) const {
    std::lock_guard lock(mutex_);
    auto it = ranges_.upper_bound(addr);
    if (it == ranges_.begin()) return {0, 0};
    --it;
    if (addr >= it->second) return {0, 0};
    return {it->first, it->second};
  }

 private:
  mutable std::mutex mutex_;
  std::map<uintptr_t, uintptr_t> ranges_;  // begin -> end
};

// Never destroyed: mapped files held by other static objects are unmapped during exit, after a
// function-local static registry would already be gone.
MappingRegistry& mappings() {
  static auto* registry = new MappingRegistry;
  return *registry;
}

class MappedFile : public ByteSource {
 public:
  explicit MappedFile(const std::string& path) : path_(path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    FORGE_CHECK(fd >= 0, "[file] cannot open {}: {}", path, std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      fail("[file] {} is not a regular file", path);
    }
    size_ = static_cast<size_t>(st.st_size);
    void* mapped = nullptr;
    if (size_ > 0) {
      mapped = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (mapped == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        fail("[file] cannot map {}: {}", path, std::strerror(err));
      }
    }
    ::close(fd);
    const size_t size = size_;
    const auto begin = reinterpret_cast<uintptr_t>(mapped);
    if (mapped) mappings().add(begin, begin + size);
    storage_ = Storage::wrap(mapped, size_, [mapped, size, begin] {
      if (!mapped) return;
      mappings().remove(begin);
      ::munmap(mapped, size);
    });
  }
  const std::string& name() const override { return path_; }
  size_t size() const override { return size_; }
  const uint8_t* data() const override { return static_cast<const uint8_t*>(storage_->data()); }
  std::shared_ptr<Storage> storage() override { return storage_; }

 private:
  std::string path_;
  size_t size_ = 0;
  std::shared_ptr<Storage> storage_;
};

}  // namespace

std::shared_ptr<ByteSource> open_file(const std::string& path) { return std::make_shared<MappedFile>(path); }

bool release_file_pages(const void* p, size_t bytes) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto addr = reinterpret_cast<uintptr_t>(p);
  const uintptr_t begin = (addr + page - 1) / page * page;
  const uintptr_t end = (addr + bytes) / page * page;
  if (end <= begin || !mappings().contains(addr, addr + bytes)) return false;
  return ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED) == 0;
}

bool release_mapped_file_pages(const void* inside) {
  const auto [begin, end] = mappings().holding(reinterpret_cast<uintptr_t>(inside));
  if (end <= begin) return false;
  return ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED) == 0;
}

void write_file_atomic(const std::string& path, const std::function<void(std::FILE*)>& write) {
  const std::string tmp = fmt::format("{}.tmp-{}", path, ::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  FORGE_CHECK(f != nullptr, "[file] cannot write {}: {}", tmp, std::strerror(errno));
  try {
    write(f);
  } catch (...) {
    std::fclose(f);
    std::remove(tmp.c_str());
    throw;
  }
  const bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  const int err = errno;
  std::fclose(f);
  if (!ok) {
    std::remove(tmp.c_str());
    fail("[file] writing {} failed: {}", path, std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int rename_err = errno;
    std::remove(tmp.c_str());
    fail("[file] cannot replace {}: {}", path, std::strerror(rename_err));
  }
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace forge
