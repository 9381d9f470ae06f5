// Spin-then-block wait for a kept-alive connection's next request (see keepalive_wait.h).
#include "serve/keepalive_wait.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace forge::serve {
namespace {

// 1: readable (or hung up / failed: the read that follows sees it), 0: not yet, -1: poll failed.
int poll_readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  int n = ::poll(&p, 1, timeout_ms);
  if (n < 0) return errno == EINTR ? 0 : -1;
  return n > 0 ? 1 : 0;
}

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

KeepAliveWait wait_for_request(int fd, int spin_us, int timeout_ms, const std::function<bool()>& stopped) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  if (spin_us > 0) {
    const auto spin_end = start + std::chrono::microseconds(spin_us);
    do {
      int r = poll_readable(fd, 0);
      if (r != 0) return KeepAliveWait::kReadable;  // -1: let the read report the error
      for (int i = 0; i < 16; ++i) cpu_relax();
    } while (clock::now() < spin_end);
  }
  const auto deadline = start + std::chrono::milliseconds(std::max(0, timeout_ms));
  while (true) {
    if (stopped && stopped()) return KeepAliveWait::kStopped;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) return poll_readable(fd, 0) != 0 ? KeepAliveWait::kReadable : KeepAliveWait::kTimeout;
    int r = poll_readable(fd, static_cast<int>(std::min<int64_t>(left, 20)));
    if (r != 0) return KeepAliveWait::kReadable;
  }
}

}  // namespace forge::serve
