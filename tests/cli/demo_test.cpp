// Black-box tests of `forge demo`: runs the built binary (build/forge, next to build/tests/).
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli_util.h"
#include "test_util.h"

namespace forge {
namespace {

using test::CliRun;
using test::run_forge;

TEST(CliDemo, TrainsToUsefulAccuracy) {
  // 120 steps of 500 images (one epoch, fewer steps than the default so the sanitizer build is quick).
  const CliRun run = run_forge("demo --batch-size 500 --lr 0.2 --seed 3");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("epoch 1/1  step  100/120  loss"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("samples/s"), std::string::npos) << run.output;
  const size_t at = run.output.find("test accuracy: ");
  ASSERT_NE(at, std::string::npos) << run.output;
  const double accuracy = std::stod(run.output.substr(at + 15));
  EXPECT_GT(accuracy, 0.65) << run.output;  // chance is 0.10; PyTorch reaches ~0.74 with the defaults
}

TEST(CliDemo, ClearErrors) {
  CliRun run = run_forge("demo --data /nonexistent");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("error: [fashion_mnist] /nonexistent/train-images-idx3-ubyte(.gz) not found; install it "
                            "with: sudo apt-get install dataset-fashion-mnist"),
            std::string::npos)
      << run.output;
  run = run_forge("demo --batch-size 0");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.output.find("[demo] --batch-size must be at least 1, got 0"), std::string::npos) << run.output;
  run = run_forge("demo --lr abc");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.output.find("--lr"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace forge
