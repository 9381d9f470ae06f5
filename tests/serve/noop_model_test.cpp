// The benchmark-only no-op embedding model (`forge serve --model NAME=noop:`): it goes through
// the whole request path (auth, limits, ledger) and returns one zero per text.
#include "serve/noop_model.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "serve/model_config.h"
#include "serve/server.h"
#include "test_util.h"

namespace forge::serve {
namespace {

using nlohmann::json;

TEST(NoopModel, EmbedsZerosAndCountsCharacters) {
  auto m = make_noop_embedding_model();
  EXPECT_EQ(m->name(), "noop");
  EXPECT_EQ(m->dim(), 1);
  auto v = m->embed({"abc", "é!"});
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0], std::vector<float>{0.0f});
  EXPECT_EQ(m->tokenizer()->encode("abc").size(), 3u);
  EXPECT_EQ(m->tokenizer()->encode("é").size(), 1u);  // unknown characters are <unk>
  EXPECT_THROW_MSG(m->embed({std::string(513, 'x')}), "[noop] text 0 has 513 characters; the maximum is 512");
}

TEST(NoopModel, ModelFlagSelectsIt) {
  ModelSpec spec = parse_model_flag("bench=noop:");
  EXPECT_EQ(spec.name, "bench");
  EXPECT_EQ(spec.kind, "noop");
  spec.kind = "nope";
  ServeOptions o;
  Server server(o);
  EXPECT_THROW_MSG(load_model(server, spec), "unknown kind 'nope' (llm, embedding, predict, noop)");
}

TEST(NoopModel, ServedRequestIsAuthorizedAndMetered) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("forge-noop-test-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  {
    ServeOptions o;
    o.port = 0;
    o.http_threads = 1;  // the /health benchmark's setting
    o.keys_db = dir + "/keys.db";
    Server server(o);
    load_model(server, parse_model_flag("noop=noop:"));
    const std::string key = server.keystore()->create_key({"user", {kScopeInference}, 0, 0, 0}).second;
    const int port = server.bind();
    std::thread t([&] { server.run(); });
    httplib::Client c("127.0.0.1", port);
    c.set_keep_alive(true);
    const std::string body = json{{"model", "noop"}, {"input", "hello"}}.dump();
    auto r = c.Post("/v1/embeddings", {{"Authorization", "Bearer " + key}}, body, "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    auto j = json::parse(r->body);
    EXPECT_EQ(j["data"][0]["embedding"], json::array({0.0}));
    EXPECT_EQ(j["usage"]["prompt_tokens"], 5);
    r = c.Post("/v1/embeddings", body, "application/json");  // no key
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 401);
    r = c.Get("/health");  // one HTTP thread still serves the same keep-alive connection
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    auto rows = server.keystore()->usage({});
    ASSERT_EQ(rows.size(), 1u);  // the 401 is not metered
    EXPECT_EQ(rows[0].model, "noop");
    EXPECT_EQ(rows[0].prompt_tokens, 5);
    c.stop();
    server.stop();
    t.join();
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace forge::serve
