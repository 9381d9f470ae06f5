#pragma once
// Waiting for the next request on a kept-alive HTTP connection. A thread blocked in poll() is
// woken by the scheduler when the request arrives, which costs tens of microseconds on a busy
// machine; a client that sends its next request right after reading a response (benchmarks,
// agents, proxies with pooled connections) usually does so within a few microseconds. So the
// wait first spins (non-blocking poll + pause) for `spin_us`, and only then blocks.
#include <functional>

namespace forge::serve {

enum class KeepAliveWait {
  kReadable,  // bytes (or the peer's close / an error) are waiting: read the next request
  kTimeout,   // nothing arrived within the keep-alive timeout: close the connection
  kStopped,   // `stopped()` became true (the server is stopping): close the connection
};

// Waits until `fd` is readable: spins for up to `spin_us` microseconds (0 = no spin), then
// blocks in slices of at most 20 ms, checking `stopped` between slices, until `timeout_ms`
// (counted from the call) has passed.
KeepAliveWait wait_for_request(int fd, int spin_us, int timeout_ms, const std::function<bool()>& stopped);

}  // namespace forge::serve
