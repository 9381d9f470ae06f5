// libFuzzer target for the GGUF reader: every input must either load (and then every tensor
// view lies inside the input) or throw forge::Error. Built and run by tools/fuzz/run_fuzz.sh.
#include "fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)forge::fuzz::gguf_one_input(data, size);
  return 0;
}
