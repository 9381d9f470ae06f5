#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

namespace forge {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  auto storage = std::shared_ptr<Storage>(new Storage());
  const size_t rounded = (nbytes + 63) / 64 * 64;
  void* data = rounded == 0 ? nullptr : std::aligned_alloc(64, rounded);
  if (rounded != 0 && data == nullptr) fail("[storage] out of memory allocating {} bytes", nbytes);
  storage->data_ = data;
  storage->nbytes_ = nbytes;
  storage->release_ = [data] { std::free(data); };
  return storage;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::function<void()> release) {
  auto storage = std::shared_ptr<Storage>(new Storage());
  storage->data_ = data;
  storage->nbytes_ = nbytes;
  storage->release_ = std::move(release);
  return storage;
}

Storage::~Storage() {
  if (release_) release_();
}

}  // namespace forge
