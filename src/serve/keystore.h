#pragma once
// API keys and the usage ledger of `forge serve`. KeyStore is the interface; SqliteKeyStore, one
// SQLite file in WAL mode, is the embedded default, PgKeyStore (serve/keystore_pg.h) the store
// several servers share. open_keystore() picks one from a path or URL. Secrets are shown once (create/rotate return them) and
// stored only as SHA-256(salt || secret) with a random per-key salt; lookups go through the
// public key id embedded in the secret and compare hashes in constant time. Nothing here logs
// a secret.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace forge::serve {

// Scopes a key can hold. "inference" covers chat/completions/embeddings/tokenize/predict,
// "metrics" GET /metrics, "admin" the key and usage endpoints.
inline constexpr const char* kScopeInference = "inference";
inline constexpr const char* kScopeMetrics = "metrics";
inline constexpr const char* kScopeAdmin = "admin";

struct ApiKey {
  int64_t id = 0;
  std::string public_id;  // "fk_" + 12 hex chars; the first part of the secret, safe to show
  std::string name;
  std::vector<std::string> scopes;  // kScope*
  int64_t rpm = 0;                  // requests per minute, 0 = unlimited
  int64_t tpm = 0;                  // tokens (prompt + completion) per minute, 0 = unlimited
  int64_t monthly_tokens = 0;       // tokens per calendar month (UTC), 0 = unlimited
  int64_t created_ms = 0;           // unix milliseconds
  int64_t revoked_ms = 0;           // 0 = active
  bool has_scope(const std::string& scope) const;
};

struct NewKey {
  std::string name;
  std::vector<std::string> scopes{kScopeInference};
  int64_t rpm = 0, tpm = 0, monthly_tokens = 0;
};

// One row of the usage ledger: one per answered request.
struct UsageRow {
  int64_t time_ms = 0;  // unix milliseconds when the request finished
  int64_t key_id = 0;   // 0 = no key (auth disabled or rejected before a key was known)
  std::string model, endpoint;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  double latency_ms = 0;
  int status = 200;
};

struct UsageFilter {
  std::optional<int64_t> key_id;
  int64_t since_ms = 0;  // rows with time_ms >= since_ms
};

class KeyStore {
 public:
  virtual ~KeyStore() = default;
  // Creates a key; returns it and its secret (the only time the secret exists in clear).
  virtual std::pair<ApiKey, std::string> create_key(const NewKey& spec) = 0;
  virtual std::vector<ApiKey> list_keys() const = 0;
  // By numeric id, public id or name; nullopt when absent.
  virtual std::optional<ApiKey> find_key(const std::string& id_or_name) const = 0;
  // Revokes (keeps the row for the ledger). Throws when absent.
  virtual ApiKey revoke_key(const std::string& id_or_name) = 0;
  // New secret (and public id) for the same key; the old secret stops working. Throws when absent.
  virtual std::pair<ApiKey, std::string> rotate_key(const std::string& id_or_name) = 0;
  // The active key whose secret this is; nullopt for unknown, malformed or revoked secrets.
  virtual std::optional<ApiKey> authenticate(const std::string& secret) const = 0;
  // Appends a ledger row: committed before it returns, or (a SQLite store opened with a commit
  // window) journaled and queued, and committed with the rows of the same window, at most
  // usage_commit_ms (plus the commit) later. The readers below (usage, tokens_used, usage_rows) and
  // flush_usage() commit the queue first.
  virtual void record_usage(const UsageRow& row) = 0;
  // Commits every row recorded so far (a no-op where each row is committed by record_usage).
  virtual void flush_usage() {}
  virtual std::vector<UsageRow> usage(const UsageFilter& filter) const = 0;
  // Prompt + completion tokens of a key since `since_ms` (monthly quotas).
  virtual int64_t tokens_used(int64_t key_id, int64_t since_ms) const = 0;
  virtual int64_t usage_rows() const = 0;
  // True when other servers may write the same keys and ledger (PostgreSQL): monthly quotas are
  // then read from the store for every request instead of being counted in this process.
  virtual bool shared_ledger() const { return false; }
};

// Opens (creating when needed) a SQLite key store at `path` (WAL mode, synchronous=NORMAL: a
// committed row survives kill -9 of the server). usage_commit_ms 0: record_usage commits each
// row; > 0 (0..10000): record_usage appends the row to the ledger journal (serve/ledger_journal.h;
// one write(2), survives kill -9) and a writer thread commits the rows of each window of that
// many ms as one transaction; closing the store commits them all. Every open first replays the
// journals of writers that died. Authenticated keys are cached until another connection changes
// the file (PRAGMA data_version) or this store changes a key.
std::unique_ptr<KeyStore> open_sqlite_keystore(const std::string& path, int usage_commit_ms = 0);
// The key store named by `spec`: a postgres:// or postgresql:// URL opens PgKeyStore, anything
// else is a SQLite file path (opened with `sqlite_usage_commit_ms`, see above). Used by `forge
// serve --keys`, `forge keys` and `forge usage`.
std::unique_ptr<KeyStore> open_keystore(const std::string& spec, int sqlite_usage_commit_ms = 0);
// True when `spec` is a PostgreSQL URL (postgres:// or postgresql://).
bool is_postgres_url(const std::string& spec);

// ---- helpers shared by the CLI and the server

// Splits "a,b" into scopes and checks each is known.
std::vector<std::string> parse_scopes(const std::string& text);
// Unix milliseconds now, and of the first instant of the current UTC month.
int64_t now_ms();
int64_t month_start_ms(int64_t t_ms);
// "2024-05-01", "2024-05-01T12:00:00" (UTC) or a unix-seconds number -> unix milliseconds.
int64_t parse_since(const std::string& text);
// "2024-05-01T12:00:00.123Z".
std::string format_time_ms(int64_t t_ms);

}  // namespace forge::serve
