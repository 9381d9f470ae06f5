#pragma once
// Running the built forge binary (build/forge, next to build/tests/) from black-box CLI tests.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <utility>

namespace forge::test {

struct CliRun {
  int exit_code;
  std::string output;  // stdout and stderr
};

// The forge binary of this build.
inline std::string forge_binary() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "forge").string();
}

// For std::tie(code, output) = pair_of(run_forge(...)).
inline std::pair<int, std::string> pair_of(CliRun run) { return {run.exit_code, std::move(run.output)}; }

enum class Stderr { merge, drop };

// Runs `forge ARGS` and collects its exit code and output (stdout, and stderr unless dropped).
// `prefix` goes in front of the command: environment assignments such as "OMP_NUM_THREADS=1",
// or a producer of stdin such as "printf 'hi\\n' |".
inline CliRun run_forge(const std::string& args, const std::string& prefix = "", Stderr err = Stderr::merge) {
  const std::string command =
      prefix + " " + forge_binary() + " " + args + (err == Stderr::merge ? " 2>&1" : " 2>/dev/null");
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
