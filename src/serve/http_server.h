#pragma once
// The plain-HTTP server of `forge serve`: cpp-httplib's Server with its own connection loop.
// Debian builds cpp-httplib as a library, so its keep-alive loop cannot be patched; its
// per-connection entry point (process_and_close_socket, virtual) can be overridden, and
// process_request (protected) parses, routes and answers one request from any httplib::Stream.
// Compared with the library's loop, per request this
//   - waits for a kept-alive connection's next request with a short spin before blocking
//     (keepalive_wait.h), so a client's back-to-back request skips a scheduler wake-up;
//   - keeps one buffered stream per connection (the library makes one per request, and
//     polls before every recv and send): reads and writes try the socket first and poll only
//     when it would block; the peer's address is looked up once per connection;
//   - sends a fixed-length response's header block together with its body (one send instead
//     of two, so the client wakes once); chunked (streamed) responses go out unchanged.
// TLS connections keep httplib::SSLServer's own loop.
#include <httplib.h>

#include <string>
#include <vector>

namespace forge::serve {

class HttpServer final : public httplib::Server {
 public:
  // keepalive_spin_us: how long a connection thread spins for the next request before blocking
  // (0 = block at once, as the library does).
  explicit HttpServer(int keepalive_spin_us) : keepalive_spin_us_(keepalive_spin_us) {}

 private:
  bool process_and_close_socket(socket_t sock) override;

  int keepalive_spin_us_;
};

// One connection's socket as an httplib::Stream (public for tests): buffered reads, writes that
// hold a response's header block until its body (see above), timeouts as the library's.
class ConnectionStream final : public httplib::Stream {
 public:
  ConnectionStream(socket_t sock, int read_timeout_ms, int write_timeout_ms);

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return sock_; }

  // Bytes of the next request already read from the socket (pipelined requests).
  bool has_buffered_input() const { return in_off_ < in_len_; }
  // Call before each request: the response's first write is its header block.
  void begin_response() { first_write_ = true; }
  // Sends a header block still held (a response without a body). False when the send failed.
  bool flush();

 private:
  bool send_all(const char* p, size_t n);
  bool poll_for(short events, int timeout_ms) const;

  socket_t sock_;
  int read_timeout_ms_, write_timeout_ms_;
  std::vector<char> in_;  // received, not yet consumed: in_[in_off_, in_len_)
  size_t in_off_ = 0, in_len_ = 0;
  std::string held_;  // a header block waiting for its body
  bool first_write_ = false;
  std::string remote_ip_, local_ip_;
  int remote_port_ = 0, local_port_ = 0;
};

}  // namespace forge::serve
