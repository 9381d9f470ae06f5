// HttpServer's connection loop and ConnectionStream (see http_server.h).
#include "serve/http_server.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "serve/keepalive_wait.h"

namespace forge::serve {
namespace {

constexpr size_t kReadChunk = 16 << 10;
// A held header block is copied in front of a body up to this size (one send); a larger body
// goes out in its own send after the header block.
constexpr size_t kCoalesceMax = 64 << 10;

int to_ms(time_t sec, time_t usec) { return static_cast<int>(sec * 1000 + usec / 1000); }

void address_of(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  if (addr.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in&>(addr).sin_port);
  } else if (addr.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6&>(addr).sin6_port);
  } else {
    return;
  }
  char host[NI_MAXHOST] = {};
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, nullptr, 0, NI_NUMERICHOST) ==
      0) {
    ip = host;
  }
}

}  // namespace

// ---- ConnectionStream

ConnectionStream::ConnectionStream(socket_t sock, int read_timeout_ms, int write_timeout_ms)
    : sock_(sock), read_timeout_ms_(read_timeout_ms), write_timeout_ms_(write_timeout_ms) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) address_of(addr, len, remote_ip_, remote_port_);
  len = sizeof addr;
  if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) address_of(addr, len, local_ip_, local_port_);
}

bool ConnectionStream::poll_for(short events, int timeout_ms) const {
  pollfd p{sock_, events, 0};
  while (true) {
    int n = ::poll(&p, 1, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

bool ConnectionStream::is_readable() const { return has_buffered_input() || poll_for(POLLIN, read_timeout_ms_); }

bool ConnectionStream::is_writable() const { return poll_for(POLLOUT, write_timeout_ms_); }

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (size == 0) return 0;
  if (!has_buffered_input()) {
    // Large reads (request bodies) go straight into the caller's buffer.
    const bool direct = size >= kReadChunk;
    if (!direct && in_.size() < kReadChunk) in_.resize(kReadChunk);
    char* dst = direct ? ptr : in_.data();
    const size_t cap = direct ? size : kReadChunk;
    ssize_t n;
    while (true) {
      n = ::recv(sock_, dst, cap, MSG_DONTWAIT);
      if (n >= 0) break;
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) break;
      if (!poll_for(POLLIN, read_timeout_ms_)) break;  // read timeout: n stays -1
    }
    if (direct || n <= 0) return n;
    in_off_ = 0;
    in_len_ = static_cast<size_t>(n);
  }
  const size_t take = std::min(size, in_len_ - in_off_);
  std::memcpy(ptr, in_.data() + in_off_, take);
  in_off_ += take;
  return static_cast<ssize_t>(take);
}

bool ConnectionStream::send_all(const char* p, size_t n) {
  while (n > 0) {
    ssize_t sent = ::send(sock_, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      p += sent;
      n -= static_cast<size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && poll_for(POLLOUT, write_timeout_ms_)) continue;
    return false;
  }
  return true;
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  const bool header_block = first_write_;
  first_write_ = false;
  if (header_block) {
    // A fixed-length response's body follows at once (or never: HEAD, empty body; flush()
    // sends it after the request). Chunked responses may wait long for their first chunk, so
    // their header block goes out now.
    const std::string_view block(ptr, size);
    if (block.find("\r\nContent-Length: ") != std::string_view::npos) {
      held_.assign(ptr, size);
      return static_cast<ssize_t>(size);
    }
  }
  if (!held_.empty()) {
    if (size <= kCoalesceMax) {
      held_.append(ptr, size);
      const bool ok = send_all(held_.data(), held_.size());
      held_.clear();
      return ok ? static_cast<ssize_t>(size) : -1;
    }
    if (!flush()) return -1;
  }
  return send_all(ptr, size) ? static_cast<ssize_t>(size) : -1;
}

bool ConnectionStream::flush() {
  if (held_.empty()) return true;
  const bool ok = send_all(held_.data(), held_.size());
  held_.clear();
  return ok;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  ip = remote_ip_;
  port = remote_port_;
}

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const {
  ip = local_ip_;
  port = local_port_;
}

// ---- HttpServer

bool HttpServer::process_and_close_socket(socket_t sock) {
  bool ret = false;
  {
    ConnectionStream strm(sock, to_ms(read_timeout_sec_, read_timeout_usec_),
                          to_ms(write_timeout_sec_, write_timeout_usec_));
    const auto stopped = [this] { return svr_sock_ == INVALID_SOCKET; };
    const int timeout_ms = static_cast<int>(keep_alive_timeout_sec_ * 1000);
    for (size_t left = keep_alive_max_count_; left > 0 && !stopped(); --left) {
      if (!strm.has_buffered_input() &&
          wait_for_request(sock, keepalive_spin_us_, timeout_ms, stopped) != KeepAliveWait::kReadable) {
        break;
      }
      bool connection_closed = false;
      strm.begin_response();
      ret = process_request(strm, left == 1, connection_closed, nullptr);
      if (!strm.flush()) ret = false;
      if (!ret || connection_closed) break;
    }
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace forge::serve
