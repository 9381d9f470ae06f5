#include "formats/byte_source.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace forge {

namespace {

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
    storage_ = Storage::wrap(mapped, size_, [mapped, size] {
      if (mapped) ::munmap(mapped, size);
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
