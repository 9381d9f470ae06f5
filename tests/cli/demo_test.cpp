// Black-box tests of `forge demo`: runs the built binary (build/forge, next to build/tests/).
#include <cstdio>
#include <filesystem>
#include <string>

#include "test_util.h"

namespace forge {
namespace {

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

CliRun run_forge(const std::string& args) {
  const auto forge = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "forge";
  const std::string command = forge.string() + " " + args + " 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr) << command;
  CliRun run{-1, ""};
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) run.output.append(buffer, n);
  const int status = ::pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

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
