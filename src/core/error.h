#pragma once
// Errors: every user mistake throws forge::Error with a message that names the op and the
// offending values, e.g. "[matmul] inner dimensions differ: (64,784) x (128,10)".
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stdexcept>
#include <string>

namespace forge {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace forge

// FORGE_CHECK(cond, "[op] message {}", values...): throws forge::Error when cond is false.
#define FORGE_CHECK(cond, ...)     \
  do {                             \
    if (!(cond)) {                 \
      ::forge::fail(__VA_ARGS__);  \
    }                              \
  } while (false)
