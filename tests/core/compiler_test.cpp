// Guards against the GCC 12 AVX-512 miscompile described in CMakeLists.txt: built with the
// project's flags, an int64 initializer list passed through a helper must survive intact.
#include "test_util.h"

namespace forge {
namespace {

Tensor ids(const std::vector<int64_t>& v) { return from_vector<int64_t>(v, {static_cast<int64_t>(v.size())}); }

TEST(Compiler, InitializerListsSurviveCodegen) {
  EXPECT_EQ(ids({1, 1, 0, 0}).to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 0, 0}));
  EXPECT_EQ(ids({5, 5, 0, 0, 0, 0, 0, 0}).to_vector<int64_t>(), (std::vector<int64_t>{5, 5, 0, 0, 0, 0, 0, 0}));
}

}  // namespace
}  // namespace forge
