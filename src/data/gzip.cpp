#include "data/gzip.h"

#include "formats/gzip.h"

namespace forge {

namespace {

class MemorySource : public ByteSource {
 public:
  MemorySource(std::string name, std::vector<uint8_t> bytes)
      : name_(std::move(name)), bytes_(std::make_shared<std::vector<uint8_t>>(std::move(bytes))) {
    auto keep = bytes_;  // tensors viewing storage() keep the bytes alive
    storage_ = Storage::wrap(bytes_->data(), bytes_->size(), [keep] {});
  }
  const std::string& name() const override { return name_; }
  size_t size() const override { return bytes_->size(); }
  const uint8_t* data() const override { return bytes_->data(); }
  std::shared_ptr<Storage> storage() override { return storage_; }

 private:
  std::string name_;
  std::shared_ptr<std::vector<uint8_t>> bytes_;
  std::shared_ptr<Storage> storage_;
};

}  // namespace

std::shared_ptr<ByteSource> memory_source(std::string name, std::vector<uint8_t> bytes) {
  return std::make_shared<MemorySource>(std::move(name), std::move(bytes));
}

std::shared_ptr<ByteSource> open_file_decompressed(const std::string& path) {
  auto source = open_file(path);
  if (!is_gzip(source->data(), source->size())) return source;
  return memory_source(path, gunzip(source->data(), source->size(), path));
}

}  // namespace forge
