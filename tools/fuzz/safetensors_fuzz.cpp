// libFuzzer target for the safetensors readers: a single file from memory, or (input starting
// with '{') an index JSON plus shards written to a temp directory; see fuzz_targets.h. Every
// input must either load with every tensor readable or throw forge::Error. Built and run by
// tools/fuzz/run_fuzz.sh.
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)forge::fuzz::safetensors_one_input(data, size);
  return 0;
}
