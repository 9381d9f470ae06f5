// A minimal HTTP/1.1 keep-alive client for the server benchmarks of issue 7 (bench/serve_compare.py):
// one connection, requests sent back to back, each response read in full before the next request.
//
//   ./build/bench/bench_http --port 8080 --path /health --requests 20000
//   ./build/bench/bench_http --port 8080 --method POST --path /v1/embeddings
//       --header "Authorization: Bearer fk_..." --body '{"model":"noop","input":"hello"}' --json
//
// Prints the median / p90 / p99 latency in microseconds and requests per second (one line of
// JSON with --json). Written on raw sockets so the client adds as little as possible to the
// numbers (no parsing beyond the status line, Content-Length and chunked bodies' end).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Args {
  std::string host = "127.0.0.1", method = "GET", path = "/health", body;
  std::vector<std::string> headers;
  int port = 8080;
  int requests = 10000, warmup = 500;
  bool json = false;
};

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bench_http: %s\n", msg.c_str());
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto v = [&]() -> std::string {
      if (i + 1 >= argc) die(k + " needs a value");
      return argv[++i];
    };
    if (k == "--host") a.host = v();
    else if (k == "--port") a.port = std::atoi(v().c_str());
    else if (k == "--method") a.method = v();
    else if (k == "--path") a.path = v();
    else if (k == "--body") a.body = v();
    else if (k == "--header") a.headers.push_back(v());
    else if (k == "--requests") a.requests = std::atoi(v().c_str());
    else if (k == "--warmup") a.warmup = std::atoi(v().c_str());
    else if (k == "--json") a.json = true;
    else die("unknown option " + k + " (--host --port --method --path --body --header --requests --warmup --json)");
  }
  if (a.requests < 1) die("--requests must be >= 1");
  return a;
}

class Connection {
 public:
  Connection(const std::string& host, int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) die("socket() failed");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) die("bad --host " + host);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      die("cannot connect to " + host + ":" + std::to_string(port));
  }
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Sends `request`, reads one whole response; returns its status code.
  int roundtrip(const std::string& request) {
    size_t sent = 0;
    while (sent < request.size()) {
      ssize_t n = ::send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) die("send failed (server closed the connection?)");
      sent += static_cast<size_t>(n);
    }
    // Headers.
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) fill();
    const std::string head = buf_.substr(0, header_end);
    if (head.compare(0, 5, "HTTP/") != 0) die("not an HTTP response: " + head.substr(0, 40));
    const int status = std::atoi(head.c_str() + head.find(' ') + 1);
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    buf_.erase(0, header_end + 4);
    const size_t cl = lower.find("content-length:");
    if (cl != std::string::npos) {
      const size_t length = std::strtoull(lower.c_str() + cl + 15, nullptr, 10);
      while (buf_.size() < length) fill();
      buf_.erase(0, length);
    } else if (lower.find("transfer-encoding: chunked") != std::string::npos) {
      size_t end;
      while ((end = buf_.find("\r\n0\r\n\r\n")) == std::string::npos && buf_.rfind("0\r\n\r\n", 0) != 0) fill();
      buf_.erase(0, end == std::string::npos ? 5 : end + 7);
    }
    return status;
  }

 private:
  void fill() {
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) die("connection closed by the server");
    buf_.append(tmp, static_cast<size_t>(n));
  }
  int fd_ = -1;
  std::string buf_;
};

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  std::string req = a.method + " " + a.path + " HTTP/1.1\r\nHost: " + a.host + "\r\nConnection: keep-alive\r\n";
  for (const auto& h : a.headers) req += h + "\r\n";
  if (!a.body.empty() || a.method == "POST") {
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(a.body.size()) + "\r\n";
  }
  req += "\r\n" + a.body;

  Connection c(a.host, a.port);
  for (int i = 0; i < a.warmup; ++i) {
    int s = c.roundtrip(req);
    if (s != 200) die("status " + std::to_string(s) + " for " + a.method + " " + a.path);
  }
  std::vector<double> us(static_cast<size_t>(a.requests));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < a.requests; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    int s = c.roundtrip(req);
    us[static_cast<size_t>(i)] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
    if (s != 200) die("status " + std::to_string(s) + " for " + a.method + " " + a.path);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(us.begin(), us.end());
  auto pct = [&](double p) { return us[std::min(us.size() - 1, static_cast<size_t>(p * static_cast<double>(us.size())))]; };
  const double rps = a.requests / seconds;
  if (a.json) {
    std::printf("{\"median_us\": %.2f, \"p90_us\": %.2f, \"p99_us\": %.2f, \"rps\": %.1f, \"requests\": %d}\n",
                pct(0.5), pct(0.9), pct(0.99), rps, a.requests);
  } else {
    std::printf("%s %s: %d requests, median %.1f us, p90 %.1f us, p99 %.1f us, %.0f requests/s\n", a.method.c_str(),
                a.path.c_str(), a.requests, pct(0.5), pct(0.9), pct(0.99), rps);
  }
  return 0;
}
