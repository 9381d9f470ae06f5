// In-process server on a loopback port, driven by httplib's client: auth, limits, ledger, SSE
// framing, cancellation, over-long prompts, body errors, graceful shutdown.
#include "serve/server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <future>
#include <thread>

#include "serve/fake_lm.h"
#include "test_util.h"

namespace forge::serve {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

struct TestServer {
  std::string dir;
  std::unique_ptr<Server> server;
  std::shared_ptr<test::FakeLM> lm;
  int port = 0;
  std::thread thread;
  std::string user_key, admin_key;

  explicit TestServer(ServeOptions o = {}, int64_t context = 256, std::chrono::milliseconds delay = 0ms,
                      bool keys = true) {
    dir = (std::filesystem::temp_directory_path() /
           ("forge-serve-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++)))
              .string();
    std::filesystem::create_directories(dir);
    o.port = 0;
    o.keep_alive_timeout_s = 1;
    if (keys) o.keys_db = dir + "/keys.db";
    server = std::make_unique<Server>(o);
    lm = std::make_shared<test::FakeLM>(context, delay);
    server->add_llm("fake", lm);
    if (keys) {
      user_key = server->keystore()->create_key({"user", {kScopeInference}, 0, 0, 0}).second;
      admin_key = server->keystore()->create_key({"admin", {kScopeAdmin, kScopeMetrics}, 0, 0, 0}).second;
    }
    port = server->bind();
    thread = std::thread([this] { server->run(); });
  }
  ~TestServer() {
    server->stop();
    thread.join();
    server.reset();
    std::filesystem::remove_all(dir);
  }
  static int& counter() {
    static int c = 0;
    return c;
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    return c;
  }
  httplib::Result post(const std::string& path, const json& body, const std::string& key) const {
    httplib::Headers h;
    if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
    return client().Post(path.c_str(), h, body.dump(), "application/json");
  }
};

json chat(const std::string& content, int max_tokens = 5) {
  return {{"model", "fake"},
          {"messages", {{{"role", "user"}, {"content", content}}}},
          {"max_tokens", max_tokens},
          {"temperature", 0}};
}

std::string error_code(const httplib::Result& r) {
  auto j = json::parse(r->body);
  return j["error"]["code"].is_null() ? "" : j["error"]["code"].get<std::string>();
}

TEST(Serve, HealthAndModels) {
  TestServer s;
  auto c = s.client();
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto m = c.Get("/v1/models", {{"Authorization", "Bearer " + s.user_key}});
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  auto j = json::parse(m->body);
  EXPECT_EQ(j["data"][0]["id"], "fake");
  EXPECT_EQ(j["data"][0]["context_length"], 256);
}

TEST(Serve, AuthFailures) {
  TestServer s;
  auto r = s.post("/v1/chat/completions", chat("hi"), "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(error_code(r), "missing_api_key");
  r = s.post("/v1/chat/completions", chat("hi"), "fk_000000000000_deadbeef");
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(error_code(r), "invalid_api_key");
  EXPECT_EQ(r->body.find("deadbeef"), std::string::npos);       // the key is never echoed
  r = s.post("/v1/chat/completions", chat("hi"), s.admin_key);  // no inference scope
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(error_code(r), "insufficient_scope");
  s.server->keystore()->revoke_key("user");
  r = s.post("/v1/chat/completions", chat("hi"), s.user_key);
  EXPECT_EQ(r->status, 401);
}

TEST(Serve, ChatCompletionAndLedger) {
  TestServer s;
  auto r = s.post("/v1/chat/completions", chat("hi", 5), s.user_key);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "abcde");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  int64_t prompt = static_cast<int64_t>(std::string("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n").size());
  EXPECT_EQ(j["usage"]["prompt_tokens"], prompt);
  EXPECT_EQ(j["usage"]["completion_tokens"], 5);
  // Runs to EOS without max_tokens: finish_reason stop, EOS not in the text.
  r = s.post("/v1/chat/completions",
             {{"model", "fake"}, {"messages", {{{"role", "user"}, {"content", "x"}}}}, {"temperature", 0}}, s.user_key);
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  // One ledger row per request, with tokens and status.
  auto rows = s.server->keystore()->usage({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].prompt_tokens, prompt);
  EXPECT_EQ(rows[0].completion_tokens, 5);
  EXPECT_EQ(rows[0].status, 200);
  EXPECT_EQ(rows[0].endpoint, "/v1/chat/completions");
  EXPECT_EQ(rows[0].model, "fake");
  EXPECT_EQ(rows[0].key_id, s.server->keystore()->find_key("user")->id);
}

TEST(Serve, CompletionStopStringsAndLogprobs) {
  TestServer s;
  // Greedy: at temperature 1 the fake model's other 256 tokens would still be drawn ~1% of the time.
  json body = {{"model", "fake"}, {"prompt", "a"}, {"max_tokens", 20}, {"stop", {"fgh"}}, {"logprobs", 2},
               {"temperature", 0}};
  auto r = s.post("/v1/completions", body, s.user_key);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  EXPECT_EQ(j["choices"][0]["text"], "bcde");
  EXPECT_EQ(j["choices"][0]["finish_reason"], "stop");
  auto lp = j["choices"][0]["logprobs"];
  ASSERT_GE(lp["tokens"].size(), 4u);
  EXPECT_EQ(lp["tokens"][0], "b");
  // logits: 10 for the next letter, 0 for the 256 others.
  EXPECT_NEAR(lp["token_logprobs"][0].get<double>(), -std::log1p(256 * std::exp(-10.0)), 1e-5);
  EXPECT_EQ(lp["top_logprobs"][0].size(), 2u);
}

TEST(Serve, StreamingSseFraming) {
  TestServer s;
  json body = chat("hi", 4);
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto r = s.post("/v1/chat/completions", body, s.user_key);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  std::string text;
  std::vector<json> chunks;
  size_t pos = 0;
  bool done = false;
  while (pos < r->body.size()) {
    size_t end = r->body.find("\n\n", pos);
    ASSERT_NE(end, std::string::npos) << "unterminated event";
    std::string ev = r->body.substr(pos, end - pos);
    pos = end + 2;
    if (ev.rfind(":", 0) == 0) continue;  // comment
    ASSERT_EQ(ev.rfind("data: ", 0), 0u) << ev;
    ASSERT_FALSE(done) << "data after [DONE]";
    if (ev == "data: [DONE]") {
      done = true;
      continue;
    }
    chunks.push_back(json::parse(ev.substr(6)));
  }
  EXPECT_TRUE(done);
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks[0]["choices"][0]["delta"]["role"], "assistant");
  for (const auto& c : chunks) {
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    if (!c["choices"].empty() && c["choices"][0]["delta"].contains("content")) {
      text += c["choices"][0]["delta"]["content"].get<std::string>();
    }
  }
  EXPECT_EQ(text, "abcd");
  const json& last = chunks.back();
  EXPECT_TRUE(last["choices"].empty());
  EXPECT_EQ(last["usage"]["completion_tokens"], 4);
  EXPECT_EQ(chunks[chunks.size() - 2]["choices"][0]["finish_reason"], "length");
}

TEST(Serve, OverLongPromptsAreRejected) {
  TestServer s({}, 64);
  auto r = s.post("/v1/completions", {{"model", "fake"}, {"prompt", std::string(100, 'x')}}, s.user_key);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(error_code(r), "context_length_exceeded");
  r = s.post("/v1/completions", {{"model", "fake"}, {"prompt", "abc"}, {"max_tokens", 62}}, s.user_key);
  EXPECT_EQ(r->status, 400);
  r = s.post("/v1/completions", {{"model", "fake"}, {"prompt", "abc"}, {"max_tokens", 61}}, s.user_key);
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST(Serve, BadRequestsGetJsonErrors) {
  ServeOptions o;
  o.max_body_bytes = 4096;
  TestServer s(o);
  httplib::Headers h = {{"Authorization", "Bearer " + s.user_key}};
  auto c = s.client();
  auto r = c.Post("/v1/chat/completions", h, "{not json", "application/json");
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(error_code(r), "invalid_json");
  json body = chat("hi");
  body["bogus"] = 1;
  r = s.post("/v1/chat/completions", body, s.user_key);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "bogus");
  body = chat("hi");
  body["temperature"] = "hot";
  r = s.post("/v1/chat/completions", body, s.user_key);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "temperature");
  body = chat("hi");
  body["n"] = 17;  // 1..16 choices
  EXPECT_EQ(s.post("/v1/chat/completions", body, s.user_key)->status, 400);
  body = chat("hi");
  body["model"] = "nope";
  r = s.post("/v1/chat/completions", body, s.user_key);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(error_code(r), "model_not_found");
  r = c.Post("/v1/chat/completions", h, std::string(10000, ' '), "application/json");
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(error_code(r), "request_too_large");
  // Still serving.
  EXPECT_EQ(s.post("/v1/chat/completions", chat("hi"), s.user_key)->status, 200);
}

TEST(Serve, RateLimitsAndQuotas) {
  TestServer s;
  auto limited = s.server->keystore()->create_key({"limited", {kScopeInference}, 2, 0, 0}).second;
  EXPECT_EQ(s.post("/v1/chat/completions", chat("hi"), limited)->status, 200);
  EXPECT_EQ(s.post("/v1/chat/completions", chat("hi"), limited)->status, 200);
  auto r = s.post("/v1/chat/completions", chat("hi"), limited);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(error_code(r), "rate_limit_exceeded");
  int retry = std::stoi(r->get_header_value("Retry-After"));
  EXPECT_GE(retry, 1);
  EXPECT_LE(retry, 60);
  // Monthly quota: the first request spends it.
  auto quota = s.server->keystore()->create_key({"quota", {kScopeInference}, 0, 0, 10}).second;
  EXPECT_EQ(s.post("/v1/chat/completions", chat("hi"), quota)->status, 200);
  r = s.post("/v1/chat/completions", chat("hi"), quota);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(error_code(r), "insufficient_quota");
  EXPECT_FALSE(r->get_header_value("Retry-After").empty());
  // Tokens per minute.
  auto tpm = s.server->keystore()->create_key({"tpm", {kScopeInference}, 0, 60, 0}).second;
  EXPECT_EQ(s.post("/v1/chat/completions", chat("hi"), tpm)->status, 200);  // ~48 tokens
  r = s.post("/v1/chat/completions", chat("hi"), tpm);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(error_code(r), "rate_limit_exceeded");
}

// Opens a raw connection, sends a streaming request, reads a little, then hangs up.
void stream_and_hang_up(int port, const std::string& key, const json& body) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  std::string b = body.dump();
  std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key +
                    "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" +
                    b;
  ASSERT_EQ(::send(fd, req.data(), req.size(), 0), static_cast<ssize_t>(req.size()));
  char buf[512];
  ASSERT_GT(::recv(fd, buf, sizeof buf, 0), 0);
  ::close(fd);
}

TEST(Serve, ClientDisconnectCancelsGeneration) {
  TestServer s({}, 4096, 5ms);
  json body = {{"model", "fake"}, {"prompt", "?"}, {"max_tokens", 3000}, {"stream", true}};
  stream_and_hang_up(s.port, s.user_key, body);
  // The task ends long before 3000 tokens (3000 x 5 ms = 15 s) and its ledger row says 499.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::vector<UsageRow> rows;
  while (std::chrono::steady_clock::now() < deadline) {
    rows = s.server->keystore()->usage({});
    if (!rows.empty()) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, 499);
  EXPECT_LT(rows[0].completion_tokens, 3000);
}

TEST(Serve, FullQueueAnswers429WithRetryAfter) {
  ServeOptions o;
  o.engine.slots = 1;
  o.engine.max_queue = 1;
  TestServer s(o, 4096, 20ms);  // a request runs ~27 steps x 20 ms
  json slow = {{"model", "fake"}, {"prompt", "?"}, {"max_tokens", 100}};
  auto a = std::async(std::launch::async, [&] { return s.post("/v1/completions", slow, s.user_key)->status; });
  std::this_thread::sleep_for(100ms);  // a runs in the only slot
  auto b = std::async(std::launch::async, [&] { return s.post("/v1/completions", slow, s.user_key)->status; });
  std::this_thread::sleep_for(100ms);  // b waits in the queue
  auto r = s.post("/v1/completions", slow, s.user_key);
  EXPECT_EQ(r->status, 429);
  EXPECT_EQ(error_code(r), "queue_full");
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(a.get(), 200);
  EXPECT_EQ(b.get(), 200);
}

TEST(Serve, PrefillBudgetInterleavesWithRunningStreams) {
  ServeOptions o;
  o.engine.prefill_budget = 8;
  TestServer s(o, 4096, 2ms);
  json running = {{"model", "fake"}, {"prompt", "?"}, {"max_tokens", 200}};
  auto a = std::async(std::launch::async, [&] { return s.post("/v1/completions", running, s.user_key)->status; });
  // Post the long prompt only once the first stream is decoding (a fixed sleep raced with slow
  // scheduling on a loaded machine: the long prompt could arrive first and be chunked alone).
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard lock(s.lm->mu);
      if (s.lm->steps.size() >= 3) break;
    }
    std::this_thread::sleep_for(2ms);
  }
  json long_prompt = {{"model", "fake"}, {"prompt", std::string(64, '?')}, {"max_tokens", 2}};
  EXPECT_EQ(s.post("/v1/completions", long_prompt, s.user_key)->status, 200);
  EXPECT_EQ(a.get(), 200);
  std::lock_guard lock(s.lm->mu);
  bool interleaved = false;
  for (const auto& step : s.lm->steps) {
    size_t prefill = 0;
    for (size_t n : step) prefill += n > 1 ? n : 0;
    EXPECT_LE(prefill, 8u);
    if (step.size() == 2 && (step[0] == 1) && step[1] == 8) interleaved = true;
  }
  EXPECT_TRUE(interleaved) << "the long prompt was not fed in chunks next to the running decode";
}

TEST(Serve, GracefulShutdownFinishesInFlight) {
  auto s = std::make_unique<TestServer>(ServeOptions{}, 4096, 5ms);
  json slow = {{"model", "fake"}, {"prompt", "?"}, {"max_tokens", 20}};
  auto a = std::async(std::launch::async, [&] { return s->post("/v1/completions", slow, s->user_key); });
  std::this_thread::sleep_for(50ms);
  s->server->stop();
  auto r = a.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["usage"]["completion_tokens"], 20);
  s->thread.join();
  s->thread = std::thread([] {});
  EXPECT_EQ(s->server->keystore()->usage({}).size(), 1u);
  EXPECT_FALSE(s->client().Get("/health"));  // no longer accepting
}

TEST(Serve, TokenizeMetricsAndAdmin) {
  TestServer s;
  auto r = s.post("/tokenize", {{"model", "fake"}, {"prompt", "ab"}}, s.user_key);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["tokens"], json({97, 98}));
  r = s.post("/detokenize", {{"model", "fake"}, {"tokens", {104, 105}}}, s.user_key);
  EXPECT_EQ(json::parse(r->body)["prompt"], "hi");
  s.post("/v1/chat/completions", chat("hi"), s.user_key);
  auto m = s.client().Get("/metrics");
  ASSERT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("forge_http_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 1"),
            std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("forge_completion_tokens_total{key=\"user\",model=\"fake\"} 5"), std::string::npos);
  EXPECT_NE(m->body.find("forge_queue_depth{model=\"fake\"} 0"), std::string::npos);
  // Admin: create a key over HTTP and use it; user keys may not.
  EXPECT_EQ(s.post("/admin/keys", {{"name", "x"}}, s.user_key)->status, 403);
  r = s.post("/admin/keys", {{"name", "bob"}, {"scopes", {"inference"}}, {"rpm", 5}}, s.admin_key);
  ASSERT_EQ(r->status, 201) << r->body;
  std::string bob = json::parse(r->body)["secret"];
  EXPECT_EQ(s.post("/v1/chat/completions", chat("hi"), bob)->status, 200);
  r = s.post("/admin/keys/bob/rotate", json::object(), s.admin_key);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(s.post("/v1/chat/completions", chat("hi"), bob)->status, 401);
  EXPECT_EQ(s.post("/v1/chat/completions", chat("hi"), json::parse(r->body)["secret"].get<std::string>())->status, 200);
  auto u = s.client().Get("/admin/usage?format=csv", {{"Authorization", "Bearer " + s.admin_key}});
  ASSERT_EQ(u->status, 200);
  EXPECT_EQ(std::count(u->body.begin(), u->body.end(), '\n'), 1 + 3);  // header + 3 chat rows
}

}  // namespace
}  // namespace forge::serve

namespace forge::serve {
namespace {

TEST(Serve, TlsWhenGivenACertificate) {
  const auto dir = std::filesystem::temp_directory_path() / ("forge-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                         " -days 1 -subj /CN=localhost >/dev/null 2>&1")
                            .c_str()),
            0);
  ServeOptions o;
  o.cert_file = cert;
  o.key_file = key;
  {
    TestServer s(o);
    httplib::SSLClient c("127.0.0.1", s.port);
    c.enable_server_certificate_verification(false);
    auto r = c.Post("/v1/chat/completions", {{"Authorization", "Bearer " + s.user_key}}, chat("hi").dump(),
                    "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_FALSE(s.client().Get("/health"));  // plain HTTP is not spoken
  }
  o.key_file = "";
  EXPECT_THROW_MSG(Server{o}, "TLS needs both --cert and --key");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace forge::serve

namespace forge::serve {
namespace {

TEST(Serve, RequestTimeoutAnswers408) {
  ServeOptions o;
  o.request_timeout_s = 0.1;
  TestServer s(o, 4096, 20ms);
  auto r = s.post("/v1/completions", {{"model", "fake"}, {"prompt", "?"}, {"max_tokens", 100}}, s.user_key);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 408);
  EXPECT_EQ(error_code(r), "timeout");
  auto rows = s.server->keystore()->usage({});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, 408);
  EXPECT_GT(rows[0].completion_tokens, 0);
}

}  // namespace
}  // namespace forge::serve
