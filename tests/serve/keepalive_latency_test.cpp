// Keep-alive requests must not wait on Nagle + delayed ACK: the server writes a response as
// headers then body, and without TCP_NODELAY every request on a kept-alive connection took
// ~40 ms (the client's delayed-ACK timer). 20 requests therefore took >= 800 ms; now ~1 ms.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <thread>

#include "serve/model_config.h"
#include "serve/server.h"

namespace forge::serve {
namespace {

TEST(ServeKeepAlive, RequestsOnOneConnectionAreNotDelayedByNagle) {
  ServeOptions o;
  o.port = 0;
  o.http_threads = 1;
  Server server(o);
  load_model(server, parse_model_flag("noop=noop:"));
  const int port = server.bind();
  std::thread t([&] { server.run(); });
  httplib::Client c("127.0.0.1", port);
  c.set_keep_alive(true);
  c.set_tcp_nodelay(true);  // the client writes headers and body separately too; test the server side
  ASSERT_TRUE(c.Get("/health"));  // connect
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    auto r = c.Post("/v1/embeddings", R"({"model":"noop","input":"hi"})", "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 400.0) << "20 keep-alive requests took " << ms << " ms (Nagle + delayed ACK: ~40 ms each)";
  c.stop();
  server.stop();
  t.join();
}

}  // namespace
}  // namespace forge::serve
