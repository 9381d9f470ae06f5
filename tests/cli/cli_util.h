#pragma once
// Running the built forge binary (build/forge, next to build/tests/) from black-box CLI tests.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>

namespace forge::test {

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

// The forge binary of this build.
inline std::string forge_binary() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "forge").string();
}

// Runs `forge ARGS` (with `env` assignments such as "OMP_NUM_THREADS=1" in front) and
// collects its exit code and combined output.
inline CliRun run_forge(const std::string& args, const std::string& env = "") {
  const std::string command = env + " " + forge_binary() + " " + args + " 2>&1";
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

}  // namespace forge::test
