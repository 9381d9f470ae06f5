// libFuzzer target for the GGUF reader: every input must either load (and then every tensor
// view lies inside the input) or throw forge::Error. Built and run by tools/fuzz/run_gguf_fuzz.sh.
#include <cstdint>
#include <cstring>
#include <memory>

#include "formats/gguf.h"

namespace {

class FuzzSource : public forge::ByteSource {
 public:
  FuzzSource(const uint8_t* data, size_t size) : name_("fuzz.gguf"), size_(size) {
    storage_ = forge::Storage::allocate(size ? size : 1);
    if (size) std::memcpy(storage_->data(), data, size);
  }
  const std::string& name() const override { return name_; }
  size_t size() const override { return size_; }
  const uint8_t* data() const override { return static_cast<const uint8_t*>(storage_->data()); }
  std::shared_ptr<forge::Storage> storage() override { return storage_; }

 private:
  std::string name_;
  size_t size_;
  std::shared_ptr<forge::Storage> storage_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    forge::GgufFile g = forge::load_gguf(std::make_shared<FuzzSource>(data, size));
    for (const auto& ti : g.tensor_infos) {
      if (g.data_offset + ti.offset + ti.nbytes > size) __builtin_trap();
      if (ti.supported) (void)g.tensor(ti.name);
    }
    for (const auto& kv : g.metadata) (void)kv.second.to_string();
  } catch (const forge::Error&) {
  }
  return 0;
}
