#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/allocator.h"
#include "core/error.h"

namespace forge {

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  // The data comes from the caching allocator (core/allocator.h) and goes back to it when the
  // last view dies.
  auto storage = std::shared_ptr<Storage>(new Storage());
  void* data = allocate_host(nbytes);
  storage->data_ = data;
  storage->nbytes_ = nbytes;
  // Two words: held inside std::function's local buffer, no extra heap allocation.
  storage->release_ = [data, nbytes] { free_host(data, nbytes); };
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
