#pragma once
// PostgreSQL KeyStore: API keys and the usage ledger in one database that several `forge serve`
// processes (and `forge keys` / `forge usage`) share. Same secret semantics as the SQLite store
// (serve/key_secret.h); tables forge_api_keys, forge_usage and forge_usage_monthly (per key and
// UTC month token totals, updated in the same statement as each ledger row, so monthly quotas
// are exact across servers) are created when absent. One connection per store, guarded by a
// mutex (the server calls it from its HTTP handler threads); a broken connection is reopened
// once and the statement retried. Ledger rows carry a random row id (unique), so a retry whose
// first attempt had committed is not counted twice.
#include <atomic>
#include <memory>
#include <string>

#include "serve/keystore.h"

namespace forge::serve {

// Connects to `url` (postgres://user[:password]@host[:port]/db[?params], as libpq reads it) and
// creates the tables when absent. Throws one line naming the URL without its password when the
// URL is malformed, the server unreachable or the login refused.
std::unique_ptr<KeyStore> open_postgres_keystore(const std::string& url);

// `url` with its password (user:PASSWORD@ or password=...) replaced by "***", for messages.
std::string redact_postgres_url(const std::string& url);

namespace testing {
// Fault injection for tests: the next record_usage reports a lost connection after its statement
// committed (as when the connection breaks before the reply arrives); the store then retries.
extern std::atomic<bool> lose_next_usage_commit;
}  // namespace testing

}  // namespace forge::serve
