// The same key-store behaviour suite against SqliteKeyStore and PgKeyStore (a throwaway
// PostgreSQL on loopback, pg_fixture.h), then what only a shared store does: two stores (two
// servers) on one database, reconnecting, URL errors, and `forge serve --keys postgresql://...`
// end to end.
#include "serve/keystore_pg.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "cli/cli_util.h"
#include "models/gpt.h"
#include "serve/keystore.h"
#include "serve/limits.h"
#include "serve/pg_fixture.h"
#include "test_util.h"
#include "text/char_tokenizer.h"

namespace forge::serve {
namespace {

namespace fs = std::filesystem;

// One store under test: a SQLite file or a fresh PostgreSQL database, opened through
// open_keystore() as the CLI and the server do.
class KeyStoreSuite : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgres") {
      auto& pg = test::pg_server();
      ASSERT_EQ(pg.error(), "");
      spec_ = pg.fresh_database();
    } else {
      spec_ = (fs::temp_directory_path() /
               ("forge-keys-suite-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".db"))
                  .string();
    }
    store_ = open_keystore(spec_);
  }
  void TearDown() override {
    store_.reset();
    if (GetParam() != "postgres") {
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(spec_ + suffix);
    }
  }
  // Everything the store keeps, as bytes (to look for secrets in clear).
  std::string dump() const {
    if (GetParam() != "postgres") return test::read_file(spec_) + test::read_file(spec_ + "-wal");
    std::string out;
    std::string db = spec_.substr(spec_.rfind('/') + 1);
    test::pg_server().psql(db, "SELECT * FROM forge_api_keys", &out);
    return out;
  }
  bool postgres() const { return GetParam() == "postgres"; }

  static inline int counter_ = 0;
  std::string spec_;
  std::unique_ptr<KeyStore> store_;
};

TEST_P(KeyStoreSuite, CreateAuthenticateWrongSecret) {
  auto [key, secret] = store_->create_key({"alice", {kScopeInference}, 10, 1000, 50000});
  EXPECT_EQ(secret.rfind(key.public_id + "_", 0), 0u);
  EXPECT_EQ(key.name, "alice");
  EXPECT_GT(key.created_ms, 0);
  auto found = store_->authenticate(secret);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->id, key.id);
  EXPECT_EQ(found->rpm, 10);
  EXPECT_EQ(found->tpm, 1000);
  EXPECT_EQ(found->monthly_tokens, 50000);
  std::string wrong = secret;
  wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
  EXPECT_FALSE(store_->authenticate(wrong).has_value());
  EXPECT_FALSE(store_->authenticate(key.public_id + "_").has_value());
  EXPECT_FALSE(store_->authenticate("").has_value());
  EXPECT_FALSE(store_->authenticate("sk-whatever").has_value());
  EXPECT_FALSE(store_->authenticate("fk_000000000000_abc").has_value());
  std::string random_part = secret.substr(secret.rfind('_') + 1);
  std::string bytes = dump();
  EXPECT_NE(bytes.find(key.public_id), std::string::npos) << "dump() does not show the key table";
  EXPECT_EQ(bytes.find(random_part), std::string::npos) << "the secret is stored in clear";
  // Reopened (a restarted server): still there.
  store_ = open_keystore(spec_);
  EXPECT_TRUE(store_->authenticate(secret).has_value());
}

TEST_P(KeyStoreSuite, ListFindScopesRotateRevoke) {
  auto [a, a_secret] = store_->create_key({"a", {kScopeInference, kScopeAdmin}, 0, 0, 0});
  auto [b, b_secret] = store_->create_key({"b", {kScopeMetrics}, 1, 2, 3});
  auto keys = store_->list_keys();
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].name, "a");
  EXPECT_EQ(keys[1].name, "b");
  EXPECT_TRUE(keys[0].has_scope(kScopeAdmin));
  EXPECT_FALSE(keys[1].has_scope(kScopeInference));
  EXPECT_EQ(store_->find_key("b")->id, b.id);
  EXPECT_EQ(store_->find_key(std::to_string(b.id))->name, "b");
  EXPECT_EQ(store_->find_key(b.public_id)->name, "b");
  EXPECT_FALSE(store_->find_key("nobody").has_value());
  EXPECT_FALSE(store_->find_key("999").has_value());

  auto [rotated, new_secret] = store_->rotate_key("a");
  EXPECT_EQ(rotated.id, a.id);
  EXPECT_NE(rotated.public_id, a.public_id);
  EXPECT_FALSE(store_->authenticate(a_secret).has_value());
  EXPECT_TRUE(store_->authenticate(new_secret).has_value());
  ApiKey revoked = store_->revoke_key(std::to_string(a.id));
  EXPECT_NE(revoked.revoked_ms, 0);
  EXPECT_FALSE(store_->authenticate(new_secret).has_value());
  EXPECT_EQ(store_->revoke_key("a").revoked_ms, revoked.revoked_ms) << "a second revoke keeps the first time";
  EXPECT_TRUE(store_->authenticate(b_secret).has_value());
  EXPECT_EQ(store_->list_keys().size(), 2u) << "revoked keys stay listed";
}

TEST_P(KeyStoreSuite, Errors) {
  store_->create_key({"bob", {kScopeInference}, 0, 0, 0});
  store_->revoke_key("bob");
  EXPECT_THROW_MSG(store_->create_key({"bob", {kScopeInference}, 0, 0, 0}), "[keys] a key named 'bob' already exists");
  EXPECT_THROW_MSG(store_->revoke_key("nobody"), "[keys] no key 'nobody'");
  EXPECT_THROW_MSG(store_->rotate_key("nobody"), "[keys] no key 'nobody'");
  EXPECT_THROW_MSG(store_->rotate_key("bob"), "[keys] key 'bob' is revoked");
  EXPECT_THROW_MSG(store_->create_key({"neg", {kScopeInference}, -1, 0, 0}), "[keys] limits must be >= 0");
  EXPECT_THROW_MSG(store_->create_key({"", {kScopeInference}, 0, 0, 0}), "[keys] a key needs a name");
  // Names with SQL in them are data (parameters), not statements.
  auto [k, s] = store_->create_key({"x'); DROP TABLE forge_api_keys; --", {kScopeInference}, 0, 0, 0});
  EXPECT_EQ(store_->find_key(k.name)->id, k.id);
  EXPECT_EQ(store_->list_keys().size(), 2u);
}

TEST_P(KeyStoreSuite, UsageRowsAndFilters) {
  auto [k1, s1] = store_->create_key({"carol", {kScopeInference}, 0, 0, 0});
  auto [k2, s2] = store_->create_key({"dave", {kScopeInference}, 0, 0, 0});
  int64_t t = parse_since("2024-05-10T12:00:00");
  store_->record_usage({t, k1.id, "m1", "/v1/completions", 10, 5, 1.25, 200});
  store_->record_usage({t + 1000, k1.id, "m2", "/v1/chat/completions", 7, 0, 0.5, 400});
  store_->record_usage({t + 2000, k2.id, "m1", "/v1/embeddings", 3, 0, 0.125, 200});
  store_->record_usage({t, 0, "m1", "/v1/completions", 1, 1, 0.1, 200});
  EXPECT_EQ(store_->usage_rows(), 4);
  auto all = store_->usage({});
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].time_ms, t);  // in insertion order
  EXPECT_EQ(all[0].key_id, k1.id);
  EXPECT_EQ(all[0].model, "m1");
  EXPECT_EQ(all[0].endpoint, "/v1/completions");
  EXPECT_EQ(all[0].prompt_tokens, 10);
  EXPECT_EQ(all[0].completion_tokens, 5);
  EXPECT_DOUBLE_EQ(all[0].latency_ms, 1.25);
  EXPECT_EQ(all[1].status, 400);
  EXPECT_EQ(all[2].endpoint, "/v1/embeddings");
  EXPECT_EQ(store_->usage({k1.id, 0}).size(), 2u);
  EXPECT_EQ(store_->usage({k1.id, t + 1}).size(), 1u);
  EXPECT_EQ(store_->usage({std::nullopt, t + 1000}).size(), 2u);
  EXPECT_EQ(store_->usage({k2.id, t + 2001}).size(), 0u);
}

TEST_P(KeyStoreSuite, MonthlyTotalsAndQuota) {
  auto [key, secret] = store_->create_key({"erin", {kScopeInference}, 0, 0, 100});
  int64_t may = parse_since("2024-05-10T12:00:00");
  store_->record_usage({may, key.id, "m", "/v1/completions", 10, 5, 1.5, 200});
  store_->record_usage({may + 1000, key.id, "m", "/v1/completions", 7, 0, 0.5, 400});
  store_->record_usage({parse_since("2024-04-30T23:59:59"), key.id, "m", "/v1/completions", 50, 50, 1, 200});
  store_->record_usage({parse_since("2024-06-01"), key.id, "m", "/v1/completions", 1, 2, 1, 200});
  EXPECT_EQ(store_->tokens_used(key.id, parse_since("2024-05-01")), 25);  // May + June
  EXPECT_EQ(store_->tokens_used(key.id, parse_since("2024-06-01")), 3);
  EXPECT_EQ(store_->tokens_used(key.id, parse_since("2024-04-01")), 125);
  EXPECT_EQ(store_->tokens_used(key.id, may + 1), 10) << "a start inside a month sums the ledger";
  EXPECT_EQ(store_->tokens_used(key.id + 1, 0), 0);

  // The quota as the server applies it: the limiter over this store, charges then ledger rows.
  KeyStore* store = store_.get();
  RateLimiter limiter([store](int64_t id, int64_t since) { return store->tokens_used(id, since); },
                      store->shared_ledger());
  int64_t now = now_ms();
  EXPECT_TRUE(limiter.admit(key, 0, now).allowed);
  limiter.charge(key, 60, now);
  store_->record_usage({now, key.id, "m", "/v1/completions", 50, 10, 1, 200});
  EXPECT_TRUE(limiter.admit(key, 0, now).allowed);
  limiter.charge(key, 40, now);
  store_->record_usage({now, key.id, "m", "/v1/completions", 30, 10, 1, 200});
  auto v = limiter.admit(key, 0, now);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.code, "insufficient_quota");
  EXPECT_NE(v.message.find("100 tokens used of 100"), std::string::npos) << v.message;
}

INSTANTIATE_TEST_SUITE_P(Stores, KeyStoreSuite, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

// ---- PostgreSQL only: what sharing one database between servers means.

class PgKeyStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(test::pg_server().error(), "");
    url_ = test::pg_server().fresh_database();
    db_ = url_.substr(url_.rfind('/') + 1);
  }
  std::string url_, db_;
};

TEST_F(PgKeyStoreTest, TwoServersShareKeysLedgerAndQuota) {
  auto a = open_keystore(url_);  // server A
  auto b = open_keystore(url_);  // server B: its own connection, same database
  EXPECT_TRUE(a->shared_ledger());
  auto [key, secret] = a->create_key({"shared", {kScopeInference}, 0, 0, 100});
  auto seen = b->authenticate(secret);
  ASSERT_TRUE(seen.has_value()) << "B does not see A's key";
  EXPECT_EQ(seen->id, key.id);
  EXPECT_THROW_MSG(b->create_key({"shared", {kScopeInference}, 0, 0, 0}), "a key named 'shared' already exists");

  // Each server runs its own limiter; the monthly quota still adds both servers' tokens.
  RateLimiter limiter_a([s = a.get()](int64_t id, int64_t since) { return s->tokens_used(id, since); },
                        a->shared_ledger());
  RateLimiter limiter_b([s = b.get()](int64_t id, int64_t since) { return s->tokens_used(id, since); },
                        b->shared_ledger());
  int64_t now = now_ms();
  EXPECT_TRUE(limiter_a.admit(key, 0, now).allowed);
  EXPECT_TRUE(limiter_b.admit(key, 0, now).allowed);
  limiter_a.charge(key, 60, now);
  a->record_usage({now, key.id, "m", "/v1/completions", 50, 10, 2.0, 200});
  EXPECT_TRUE(limiter_b.admit(key, 0, now).allowed);  // 60 of 100
  limiter_b.charge(key, 45, now);
  b->record_usage({now, key.id, "m", "/v1/chat/completions", 40, 5, 3.0, 200});
  auto v = limiter_a.admit(key, 0, now);
  EXPECT_FALSE(v.allowed) << "A does not count B's tokens against the monthly quota";
  EXPECT_EQ(v.code, "insufficient_quota");
  EXPECT_EQ(a->usage({}).size(), 2u);
  EXPECT_EQ(b->usage({key.id, 0}).size(), 2u);
  EXPECT_EQ(a->tokens_used(key.id, month_start_ms(now)), 105);

  // A revoke on B locks the key out of A at once.
  b->revoke_key("shared");
  EXPECT_FALSE(a->authenticate(secret).has_value());
}

TEST_F(PgKeyStoreTest, ConcurrentLedgerWritesFromHandlerThreads) {
  auto store = open_keystore(url_);
  auto other = open_keystore(url_);
  auto [key, secret] = store->create_key({"busy", {kScopeInference}, 0, 0, 0});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    KeyStore* s = t % 2 ? other.get() : store.get();
    threads.emplace_back([s, id = key.id, secret = secret] {
      for (int i = 0; i < 25; ++i) {
        EXPECT_TRUE(s->authenticate(secret).has_value());
        s->record_usage({now_ms(), id, "m", "/v1/completions", 1, 2, 0.5, 200});
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(store->usage_rows(), 100);
  EXPECT_EQ(other->tokens_used(key.id, month_start_ms(now_ms())), 300);
}

TEST_F(PgKeyStoreTest, ReconnectsOnceAfterTheConnectionBroke) {
  auto store = open_keystore(url_);
  store->create_key({"before", {kScopeInference}, 0, 0, 0});
  // Kill the store's server process (as a restart or an idle timeout would).
  std::string out;
  ASSERT_EQ(test::pg_server().psql(db_,
                                   "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                                   "application_name = 'forge' AND datname = current_database()",
                                   &out),
            0)
      << out;
  EXPECT_EQ(out.substr(0, 1), "1") << out;
  EXPECT_EQ(store->list_keys().size(), 1u);
  store->record_usage({now_ms(), 1, "m", "/v1/completions", 1, 1, 1, 200});
  EXPECT_EQ(store->usage_rows(), 1);
}

// The connection breaks after the ledger statement committed but before its reply arrived: the
// store reconnects and retries the same row, which must be counted once (ledger and monthly total).
TEST_F(PgKeyStoreTest, RetryAfterALostCommitDoesNotCountTheRowTwice) {
  auto store = open_keystore(url_);
  auto [key, secret] = store->create_key({"billed", {kScopeInference}, 0, 0, 0});
  const int64_t t = now_ms();
  store->record_usage({t, key.id, "m", "/v1/completions", 3, 4, 1.0, 200});
  serve::testing::lose_next_usage_commit = true;
  store->record_usage({t, key.id, "m", "/v1/completions", 5, 6, 1.0, 200});
  EXPECT_FALSE(serve::testing::lose_next_usage_commit.load());  // the fault was taken
  EXPECT_EQ(store->usage_rows(), 2);
  EXPECT_EQ(store->tokens_used(key.id, month_start_ms(t)), 3 + 4 + 5 + 6);  // the monthly total
  EXPECT_EQ(store->tokens_used(key.id, t - 1), 3 + 4 + 5 + 6);              // the ledger's sum
  store->record_usage({t, key.id, "m", "/v1/completions", 1, 1, 1.0, 200});
  EXPECT_EQ(store->usage_rows(), 3);
  EXPECT_EQ(store->tokens_used(key.id, month_start_ms(t)), 20);
}

// A ledger table created by an earlier Forge (no row_id column) is upgraded in place; its rows stay.
TEST_F(PgKeyStoreTest, UpgradesALedgerTableWithoutRowIds) {
  std::string out;
  ASSERT_EQ(
      test::pg_server().psql(db_,
                             "CREATE TABLE forge_usage (id BIGSERIAL PRIMARY KEY, time_ms BIGINT NOT NULL, key_id "
                             "BIGINT NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, prompt_tokens BIGINT NOT "
                             "NULL, completion_tokens BIGINT NOT NULL, latency_ms DOUBLE PRECISION NOT NULL, status "
                             "INTEGER NOT NULL); INSERT INTO forge_usage (time_ms, key_id, model, endpoint, "
                             "prompt_tokens, completion_tokens, latency_ms, status) VALUES (1, 7, 'old', "
                             "'/v1/completions', 1, 1, 1, 200), (2, 7, 'old', '/v1/completions', 1, 1, 1, 200)",
                             &out),
      0)
      << out;
  auto store = open_keystore(url_);
  EXPECT_EQ(store->usage_rows(), 2);
  store->record_usage({now_ms(), 7, "m", "/v1/completions", 1, 1, 1.0, 200});
  EXPECT_EQ(store->usage_rows(), 3);
}

TEST_F(PgKeyStoreTest, UrlErrorsNameTheUrlWithoutPassword) {
  auto& pg = test::pg_server();
  // Wrong password: the login is refused.
  std::string bad_login = pg.url(db_, "not-the-password");
  try {
    open_keystore(bad_login);
    ADD_FAILURE() << "a wrong password connected";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("[keys] cannot connect to PostgreSQL at postgresql://forge:***@127.0.0.1:"), std::string::npos)
        << msg;
    EXPECT_NE(msg.find("password authentication failed"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("not-the-password"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "not one line: " << msg;
  }
  // Nothing listens there.
  int closed_port = pg.port() == 1 ? 2 : 1;
  EXPECT_THROW_MSG(open_keystore("postgresql://forge:pw@127.0.0.1:" + std::to_string(closed_port) + "/x"),
                   "[keys] cannot connect to PostgreSQL at postgresql://forge:***@127.0.0.1:");
  // Malformed.
  try {
    open_keystore("postgresql://forge:Hunter2Pw@[::1/x");
    ADD_FAILURE() << "a malformed URL was accepted";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind("[keys] bad PostgreSQL URL 'postgresql://forge:***@[::1/x': ", 0), 0u) << msg;
    EXPECT_EQ(msg.find("Hunter2Pw"), std::string::npos) << msg;  // libpq quotes the URI in this one
  }
  EXPECT_THROW_MSG(open_keystore("postgres://h/db?sslmode=sometimes&password=pw"), "password=***");
  EXPECT_THROW_MSG(open_keystore(""), "[keys] no key store given");

  EXPECT_EQ(redact_postgres_url("postgresql://u:p@h:5/db"), "postgresql://u:***@h:5/db");
  EXPECT_EQ(redact_postgres_url("postgresql://u@h/db"), "postgresql://u@h/db");
  EXPECT_EQ(redact_postgres_url("postgres://h/db?user=u&password=p&x=1"), "postgres://h/db?user=u&password=***&x=1");
  EXPECT_TRUE(is_postgres_url("postgres://h/db"));
  EXPECT_TRUE(is_postgres_url("postgresql://h/db"));
  EXPECT_FALSE(is_postgres_url("keys.db"));
  EXPECT_FALSE(is_postgres_url("/tmp/postgresql://x"));

  // The CLI: one line, exit code 1, no password.
  auto run = test::run_forge("keys list --keys " + bad_login);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_EQ(run.output.rfind("error: [keys] cannot connect to PostgreSQL at postgresql://forge:***@", 0), 0u)
      << run.output;
  EXPECT_EQ(run.output.find("not-the-password"), std::string::npos) << run.output;
}

// `forge keys` creates a key in PostgreSQL, `forge serve --keys postgresql://...` answers a
// request made with it, and `forge usage --keys postgresql://...` shows the ledger row.
TEST_F(PgKeyStoreTest, ForgeServeEndToEnd) {
  const fs::path dir = fs::temp_directory_path() / ("forge-pg-e2e-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  auto tok = text::CharTokenizer::fit("abcdefghijklmnopqrstuvwxyz ");
  models::GptConfig cfg;
  cfg.vocab_size = tok->vocab_size();
  cfg.context = 32;
  cfg.n_layer = 1;
  cfg.n_head = 2;
  cfg.d_model = 16;
  models::Gpt gpt(cfg, 3);
  models::save_gpt_dir((dir / "gpt").string(), gpt, *tok);

  auto created = test::run_forge("keys create --keys " + url_ + " --name pgkey --monthly-tokens 100000");
  ASSERT_EQ(created.exit_code, 0) << created.output;
  size_t at = created.output.find("fk_");
  ASSERT_NE(at, std::string::npos) << created.output;
  std::string secret = created.output.substr(at, created.output.find('\n', at) - at);

  const std::string log = (dir / "serve.log").string();
  const std::string forge = test::forge_binary();
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (!std::freopen(log.c_str(), "w", stdout)) _exit(126);
    ::dup2(::fileno(stdout), 2);
    std::string model = "gpt=" + (dir / "gpt").string();
    ::execl(forge.c_str(), "forge", "serve", "--port", "0", "--keys", url_.c_str(), "--model", model.c_str(),
            static_cast<char*>(nullptr));
    _exit(127);
  }
  int port = 0;
  for (int i = 0; i < 300 && port == 0; ++i) {
    std::smatch m;
    std::string text = test::read_file(log);
    static const std::regex re("listening on http://127.0.0.1:([0-9]+)");
    if (std::regex_search(text, m, re)) port = std::stoi(m[1]);
    if (port == 0) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (port == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    FAIL() << "forge serve did not start:\n" << test::read_file(log);
  }
  {
    httplib::Client client("127.0.0.1", port);
    httplib::Headers auth{{"Authorization", "Bearer " + secret}};
    auto res =
        client.Post("/v1/completions", auth, R"({"model":"gpt","prompt":"abc","max_tokens":3})", "application/json");
    ASSERT_TRUE(res) << test::read_file(log);
    EXPECT_EQ(res->status, 200) << res->body;
    auto denied = client.Post("/v1/completions", httplib::Headers{{"Authorization", "Bearer fk_000000000000_00"}},
                              R"({"model":"gpt","prompt":"abc","max_tokens":3})", "application/json");
    ASSERT_TRUE(denied);
    EXPECT_EQ(denied->status, 401);

    // The database goes away: 503 with a generic message (details go to the server's log), and
    // the server recovers by itself when it is back.
    auto& pg = test::pg_server();
    std::string out;
    ASSERT_EQ(pg.psql("postgres", "ALTER DATABASE " + db_ + " WITH ALLOW_CONNECTIONS false", &out), 0) << out;
    ASSERT_EQ(
        pg.psql("postgres",
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" + db_ + "'", &out),
        0)
        << out;
    auto down =
        client.Post("/v1/completions", auth, R"({"model":"gpt","prompt":"abc","max_tokens":3})", "application/json");
    ASSERT_TRUE(down);
    EXPECT_EQ(down->status, 503) << down->body;
    EXPECT_NE(down->body.find("key_store_unavailable"), std::string::npos) << down->body;
    EXPECT_EQ(down->body.find("127.0.0.1"), std::string::npos) << down->body;
    ASSERT_EQ(pg.psql("postgres", "ALTER DATABASE " + db_ + " WITH ALLOW_CONNECTIONS true", &out), 0) << out;
    auto back =
        client.Post("/v1/completions", auth, R"({"model":"gpt","prompt":"abc","max_tokens":3})", "application/json");
    ASSERT_TRUE(back);
    EXPECT_EQ(back->status, 200) << back->body;
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_file(log);
  EXPECT_EQ(test::read_file(log).find(test::PgServer::kPassword), std::string::npos)
      << "the server logged the password";

  auto usage = test::run_forge("usage --keys " + url_ + " --csv");
  EXPECT_EQ(usage.exit_code, 0) << usage.output;
  EXPECT_NE(usage.output.find(",pgkey,gpt,/v1/completions,"), std::string::npos) << usage.output;
  size_t rows = 0;
  for (size_t p = usage.output.find(",pgkey,gpt,"); p != std::string::npos;
       p = usage.output.find(",pgkey,gpt,", p + 1)) {
    ++rows;
  }
  EXPECT_EQ(rows, 2u) << "one ledger row per answered request:\n" << usage.output;
  usage = test::run_forge("usage --keys " + url_ + " --key pgkey");
  EXPECT_NE(usage.output.find("pgkey"), std::string::npos) << usage.output;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace forge::serve
