#pragma once
// A flat, 64-byte aligned buffer that tensors view. Storage may also wrap memory owned by
// someone else (an mmap'd checkpoint) through a custom release function.
#include <cstddef>
#include <functional>
#include <memory>

namespace forge {

enum class Device : uint8_t { kCPU, kCUDA };

class Storage {
 public:
  // Allocates `nbytes` of uninitialized, 64-byte aligned host memory.
  static std::shared_ptr<Storage> allocate(size_t nbytes);
  // Wraps external memory; `release` runs when the last tensor viewing it is gone.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::function<void()> release);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_ = Device::kCPU;
  std::function<void()> release_;
};

}  // namespace forge
