// SQLite key store: secrets only as salted hashes, rotate/revoke, ledger rows, error messages.
#include "serve/keystore.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "serve/limits.h"
#include "test_util.h"

namespace forge::serve {
namespace {

inline int counter = 0;
struct TempDb {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("forge-keys-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".db"))
                         .string();
  ~TempDb() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  }
};

TEST(KeyStore, SecretsAreHashedAndChecked) {
  TempDb db;
  std::string secret;
  {
    auto store = open_sqlite_keystore(db.path);
    auto [key, s] = store->create_key({"alice", {kScopeInference}, 10, 1000, 50000});
    secret = s;
    EXPECT_EQ(secret.rfind(key.public_id + "_", 0), 0u);
    auto found = store->authenticate(secret);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->name, "alice");
    EXPECT_EQ(found->rpm, 10);
    std::string wrong = secret;
    wrong.back() = wrong.back() == 'a' ? 'b' : 'a';
    EXPECT_FALSE(store->authenticate(wrong).has_value());
    EXPECT_FALSE(store->authenticate("").has_value());
    EXPECT_FALSE(store->authenticate("sk-whatever").has_value());
  }
  std::string bytes = test::read_file(db.path) + test::read_file(db.path + "-wal");
  std::string random_part = secret.substr(secret.rfind('_') + 1);
  EXPECT_EQ(bytes.find(random_part), std::string::npos) << "the secret is stored in clear";
  // Reopened: still there.
  auto store = open_sqlite_keystore(db.path);
  EXPECT_TRUE(store->authenticate(secret).has_value());
}

TEST(KeyStore, RotateRevokeAndErrors) {
  TempDb db;
  auto store = open_sqlite_keystore(db.path);
  auto [key, old_secret] = store->create_key({"bob", {kScopeInference, kScopeAdmin}, 0, 0, 0});
  EXPECT_TRUE(store->find_key("bob")->has_scope(kScopeAdmin));
  EXPECT_TRUE(store->authenticate(old_secret).has_value());  // now cached
  auto [rotated, new_secret] = store->rotate_key("bob");
  EXPECT_EQ(rotated.id, key.id);
  EXPECT_FALSE(store->authenticate(old_secret).has_value());
  EXPECT_TRUE(store->authenticate(new_secret).has_value());
  store->revoke_key(std::to_string(key.id));
  EXPECT_FALSE(store->authenticate(new_secret).has_value());
  EXPECT_NE(store->find_key("bob")->revoked_ms, 0);
  EXPECT_THROW_MSG(store->create_key({"bob", {kScopeInference}, 0, 0, 0}), "a key named 'bob' already exists");
  EXPECT_THROW_MSG(store->revoke_key("nobody"), "[keys] no key 'nobody'");
  EXPECT_THROW_MSG(store->rotate_key("bob"), "is revoked");
  EXPECT_THROW_MSG(store->create_key({"neg", {kScopeInference}, -1, 0, 0}), "limits must be >= 0");
  EXPECT_THROW_MSG(parse_scopes("inference,root"), "unknown scope 'root'");
  EXPECT_THROW_MSG(parse_since("yesterday"), "--since 'yesterday' is not a date");
}

// authenticate() caches keys; a change made through another connection (`forge keys` in another
// process) or through this store must take effect on the next request.
TEST(KeyStore, CachedKeysFollowChangesFromAnotherConnection) {
  TempDb db;
  auto server = open_sqlite_keystore(db.path);
  auto [carol, carol_secret] = server->create_key({"carol", {kScopeInference}, 0, 0, 0});
  auto [dave, dave_secret] = server->create_key({"dave", {kScopeInference}, 5, 0, 0});
  ASSERT_TRUE(server->authenticate(carol_secret).has_value());
  ASSERT_TRUE(server->authenticate(dave_secret).has_value());
  auto cli = open_sqlite_keystore(db.path);
  cli->revoke_key("carol");
  EXPECT_FALSE(server->authenticate(carol_secret).has_value());
  auto [rotated, dave_new] = cli->rotate_key("dave");
  EXPECT_FALSE(server->authenticate(dave_secret).has_value());
  auto again = server->authenticate(dave_new);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->rpm, 5);
  // Ledger rows this store writes do not empty the cache, and the key stays valid.
  server->record_usage({.time_ms = 1, .key_id = dave.id, .model = "m", .endpoint = "/e"});
  EXPECT_TRUE(server->authenticate(dave_new).has_value());
  // A key created elsewhere after the cache filled is found.
  auto [erin, erin_secret] = cli->create_key({"erin", {kScopeInference}, 0, 0, 0});
  EXPECT_TRUE(server->authenticate(erin_secret).has_value());
}

TEST(KeyStore, LedgerRowsAndMonthlyTotals) {
  TempDb db;
  auto store = open_sqlite_keystore(db.path);
  auto [key, secret] = store->create_key({"carol", {kScopeInference}, 0, 0, 0});
  int64_t t = parse_since("2024-05-10T12:00:00");
  store->record_usage({t, key.id, "m", "/v1/completions", 10, 5, 1.5, 200});
  store->record_usage({t + 1000, key.id, "m", "/v1/completions", 7, 0, 0.5, 400});
  store->record_usage({t, 0, "m", "/v1/completions", 1, 1, 0.1, 200});
  EXPECT_EQ(store->usage_rows(), 3);
  EXPECT_EQ(store->tokens_used(key.id, month_start_ms(t)), 22);
  EXPECT_EQ(store->usage({key.id, t + 1}).size(), 1u);
  EXPECT_EQ(month_start_ms(t), parse_since("2024-05-01"));
  EXPECT_EQ(format_time_ms(t + 5), "2024-05-10T12:00:00.005Z");
}

TEST(RateLimiter, RequestsTokensAndMonth) {
  ApiKey k;
  k.id = 1;
  k.rpm = 2;
  k.tpm = 100;
  k.monthly_tokens = 1000;
  RateLimiter limiter([](int64_t, int64_t) { return int64_t{900}; });
  int64_t t = parse_since("2024-05-10T12:00:00");
  EXPECT_TRUE(limiter.admit(k, 10, t).allowed);
  EXPECT_TRUE(limiter.admit(k, 10, t + 1).allowed);
  auto v = limiter.admit(k, 10, t + 2);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.code, "rate_limit_exceeded");
  EXPECT_EQ(v.retry_after_s, 60);
  EXPECT_TRUE(limiter.admit(k, 10, t + 60'001).allowed);  // the window moved
  limiter.charge(k, 100, t + 60'001);
  v = limiter.admit(k, 0, t + 60'002);
  EXPECT_FALSE(v.allowed);  // month: 900 + 100 >= 1000
  EXPECT_EQ(v.code, "insufficient_quota");
}

}  // namespace
}  // namespace forge::serve
