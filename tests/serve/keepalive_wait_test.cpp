// wait_for_request: spin then block for a kept-alive connection's next request; the server's
// connection loop (HttpServer) on raw sockets: pipelined requests, HEAD, header + body in one
// send, and stop() not waiting out an idle connection's keep-alive timeout.
#include "serve/keepalive_wait.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "serve/http_server.h"
#include "serve/model_config.h"
#include "serve/server.h"
#include "test_util.h"

namespace forge::serve {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct SocketPair {
  int fd[2] = {-1, -1};
  SocketPair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0); }
  ~SocketPair() {
    if (fd[0] >= 0) ::close(fd[0]);
    if (fd[1] >= 0) ::close(fd[1]);
  }
};

TEST(KeepAliveWait, ReadableAtOnceWhenBytesWait) {
  for (int spin : {0, 50}) {
    SocketPair p;
    ASSERT_EQ(::write(p.fd[1], "G", 1), 1);
    const auto t0 = Clock::now();
    EXPECT_EQ(wait_for_request(p.fd[0], spin, 1000, nullptr), KeepAliveWait::kReadable);
    EXPECT_LT(ms_since(t0), 20.0);
  }
}

TEST(KeepAliveWait, TimesOutWhenNothingArrives) {
  for (int spin : {0, 50}) {
    SocketPair p;
    const auto t0 = Clock::now();
    EXPECT_EQ(wait_for_request(p.fd[0], spin, 60, [] { return false; }), KeepAliveWait::kTimeout);
    const double ms = ms_since(t0);
    EXPECT_GE(ms, 59.0);
    EXPECT_LT(ms, 1000.0);
  }
}

TEST(KeepAliveWait, BytesArrivingAfterTheSpinWakeTheBlockingWait) {
  SocketPair p;
  std::thread writer([&] {
    std::this_thread::sleep_for(30ms);
    ASSERT_EQ(::write(p.fd[1], "G", 1), 1);
  });
  const auto t0 = Clock::now();
  EXPECT_EQ(wait_for_request(p.fd[0], 50, 5000, nullptr), KeepAliveWait::kReadable);
  const double ms = ms_since(t0);
  writer.join();
  EXPECT_GE(ms, 25.0);
  EXPECT_LT(ms, 2000.0);
}

TEST(KeepAliveWait, PeerCloseIsReadable) {
  SocketPair p;
  ::close(p.fd[1]);
  p.fd[1] = -1;
  EXPECT_EQ(wait_for_request(p.fd[0], 50, 5000, nullptr), KeepAliveWait::kReadable);
  char c;
  EXPECT_EQ(::read(p.fd[0], &c, 1), 0);  // the read that follows sees the close
}

TEST(KeepAliveWait, StopEndsTheWait) {
  SocketPair p;
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(30ms);
    stop = true;
  });
  const auto t0 = Clock::now();
  EXPECT_EQ(wait_for_request(p.fd[0], 50, 60000, [&] { return stop.load(); }), KeepAliveWait::kStopped);
  stopper.join();
  EXPECT_LT(ms_since(t0), 1000.0);
}

// ---- ConnectionStream on a socket pair

bool peer_has_bytes(int fd) {
  char c;
  return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 1;
}

std::string drain(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST(ConnectionStream, FixedLengthHeaderBlockGoesOutWithItsBody) {
  SocketPair p;
  ConnectionStream s(p.fd[0], 1000, 1000);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n";
  s.begin_response();
  ASSERT_EQ(s.write(head.data(), head.size()), static_cast<ssize_t>(head.size()));
  EXPECT_FALSE(peer_has_bytes(p.fd[1])) << "the header block should wait for its body";
  ASSERT_EQ(s.write("ok", 2), 2);
  char buf[4096];
  ssize_t n = ::recv(p.fd[1], buf, sizeof buf, 0);  // one send: one read gets all of it
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), head + "ok");
  EXPECT_TRUE(s.flush());
  EXPECT_EQ(drain(p.fd[1]), "");
}

TEST(ConnectionStream, HeaderBlockWithoutBodyIsFlushed) {
  SocketPair p;
  ConnectionStream s(p.fd[0], 1000, 1000);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  s.begin_response();
  s.write(head.data(), head.size());
  EXPECT_FALSE(peer_has_bytes(p.fd[1]));
  EXPECT_TRUE(s.flush());
  EXPECT_EQ(drain(p.fd[1]), head);
}

TEST(ConnectionStream, ChunkedHeaderBlockAndChunksGoOutAtOnce) {
  SocketPair p;
  ConnectionStream s(p.fd[0], 1000, 1000);
  const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  s.begin_response();
  s.write(head.data(), head.size());
  EXPECT_EQ(drain(p.fd[1]), head);  // a stream's first chunk may be far off
  s.write("2\r\nok\r\n", 7);
  EXPECT_EQ(drain(p.fd[1]), "2\r\nok\r\n");
}

TEST(ConnectionStream, LargeBodyAfterHeldHeaderKeepsOrder) {
  SocketPair p;
  ConnectionStream s(p.fd[0], 5000, 5000);
  const std::string body(300000, 'x');
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  std::string got;
  std::thread reader([&] {
    char buf[65536];
    while (got.size() < head.size() + body.size()) {
      ssize_t n = ::recv(p.fd[1], buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  });
  s.begin_response();
  s.write(head.data(), head.size());
  EXPECT_EQ(s.write(body.data(), body.size()), static_cast<ssize_t>(body.size()));
  reader.join();
  EXPECT_EQ(got, head + body);
}

TEST(ConnectionStream, BuffersReadsAcrossRequests) {
  SocketPair p;
  ConnectionStream s(p.fd[0], 1000, 1000);
  const std::string two = "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  ASSERT_EQ(::write(p.fd[1], two.data(), two.size()), static_cast<ssize_t>(two.size()));
  std::string first;
  char c;
  while (first.size() < 19 && s.read(&c, 1) == 1) first += c;
  EXPECT_EQ(first, "GET /a HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(s.has_buffered_input());  // the second request was read from the socket already
  char rest[64];
  EXPECT_EQ(s.read(rest, sizeof rest), 19);
  EXPECT_FALSE(s.has_buffered_input());
  ::close(p.fd[1]);
  p.fd[1] = -1;
  EXPECT_EQ(s.read(rest, sizeof rest), 0);  // peer closed
}

TEST(ConnectionStream, ReadTimesOut) {
  SocketPair p;
  ConnectionStream s(p.fd[0], 50, 50);
  char c;
  const auto t0 = Clock::now();
  EXPECT_EQ(s.read(&c, 1), -1);
  EXPECT_GE(ms_since(t0), 45.0);
}

// ---- the server's connection loop over TCP

int connect_to(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// Reads until `count` responses to /health ({"status":"ok"}) arrived or 5 s passed.
std::string read_responses(int fd, int count) {
  std::string out;
  const auto t0 = Clock::now();
  auto complete = [&] {
    size_t n = 0, at = 0;
    while ((at = out.find("{\"status\":\"ok\"}", at)) != std::string::npos) ++n, ++at;
    return n >= static_cast<size_t>(count);
  };
  while (!complete() && ms_since(t0) < 5000) {
    char buf[4096];
    timeval tv{0, 100000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n == 0) break;
    if (n > 0) out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class ServerLoop : public ::testing::TestWithParam<int> {};

TEST_P(ServerLoop, PipelinedRequestsHeadAndStop) {
  ServeOptions o;
  o.port = 0;
  o.http_threads = 2;
  o.keepalive_spin_us = GetParam();
  o.keep_alive_timeout_s = 30;  // stop() must not wait this out
  Server server(o);
  load_model(server, parse_model_flag("noop=noop:"));
  const int port = server.bind();
  std::thread t([&] { server.run(); });

  int fd = connect_to(port);
  const std::string get = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string three = get + get + get;  // one send: the loop must answer all three
  ASSERT_EQ(::send(fd, three.data(), three.size(), 0), static_cast<ssize_t>(three.size()));
  std::string got = read_responses(fd, 3);
  size_t n = 0, at = 0;
  while ((at = got.find("HTTP/1.1 200 OK\r\n", at)) != std::string::npos) ++n, ++at;
  EXPECT_EQ(n, 3u) << got;

  const std::string head = "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(::send(fd, head.data(), head.size(), 0), static_cast<ssize_t>(head.size()));
  std::this_thread::sleep_for(100ms);
  std::string head_reply = drain(fd);
  EXPECT_EQ(head_reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head_reply;
  EXPECT_EQ(head_reply.find("{\"status\""), std::string::npos) << "HEAD must not send a body";

  // The connection is idle in its keep-alive wait: stop() must end it promptly.
  const auto t0 = Clock::now();
  server.stop();
  t.join();
  EXPECT_LT(ms_since(t0), 3000.0);
  ::close(fd);
}

INSTANTIATE_TEST_SUITE_P(Spin, ServerLoop, ::testing::Values(0, 50));

TEST(ServerLoop, RejectsAnOutOfRangeSpin) {
  ServeOptions o;
  o.keepalive_spin_us = -1;
  EXPECT_THROW_MSG(Server{o}, "keepalive_spin_us must be 0..100000 microseconds (got -1)");
}

}  // namespace
}  // namespace forge::serve
