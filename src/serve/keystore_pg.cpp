// PostgreSQL implementation of KeyStore (see keystore_pg.h) over libpq (loaded on first use, see
// libpq_loader.h). Every statement goes through PQexecParams (values are parameters, never
// spliced into SQL text).
#include "serve/keystore_pg.h"

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "core/error.h"
#include "serve/key_secret.h"
#include "serve/libpq_loader.h"

namespace forge::serve {

namespace testing {
std::atomic<bool> lose_next_usage_commit{false};
}  // namespace testing

namespace {

// Thrown inside one attempt when the connection broke; the store reconnects once and retries.
struct ConnectionLost : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A statement the server rejected; keeps the SQLSTATE and constraint so callers can map them.
struct SqlError : Error {
  SqlError(const std::string& message, std::string state, std::string constraint_name)
      : Error(message), sqlstate(std::move(state)), constraint(std::move(constraint_name)) {}
  std::string sqlstate, constraint;
};

// libpq messages span lines ("...failed: Connection refused\n\tIs the server running..."): one line.
std::string one_line(const std::string& text) {
  std::string out;
  for (char c : text) {
    bool space = c == '\n' || c == '\t' || c == '\r' || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string field(const PGresult* r, int code) {
  const char* v = r ? libpq().result_error_field(r, code) : nullptr;
  return v ? v : "";
}

class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  ~Result() { libpq().clear(r_); }
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result(const Result&) = delete;
  Result& operator=(const Result&) = delete;
  Result& operator=(Result&&) = delete;
  int rows() const { return libpq().ntuples(r_); }
  std::string text(int row, int col) const {
    return std::string(libpq().getvalue(r_, row, col), static_cast<size_t>(libpq().getlength(r_, row, col)));
  }
  int64_t i64(int row, int col) const { return std::strtoll(libpq().getvalue(r_, row, col), nullptr, 10); }
  double f64(int row, int col) const { return std::strtod(libpq().getvalue(r_, row, col), nullptr); }
  // bytea in text form: "\x" followed by hex digits.
  std::vector<unsigned char> bytes(int row, int col) const {
    std::string hex = text(row, col);
    std::vector<unsigned char> out;
    if (hex.size() < 2 || hex[0] != '\\' || hex[1] != 'x') return out;
    auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
    for (size_t i = 2; i + 1 < hex.size(); i += 2) {
      out.push_back(static_cast<unsigned char>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
    }
    return out;
  }

 private:
  PGresult* r_;
};

std::string bytea_param(const std::vector<unsigned char>& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out = "\\x";
  for (unsigned char b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

ApiKey key_from_row(const Result& r, int row) {
  ApiKey k;
  k.id = r.i64(row, 0);
  k.public_id = r.text(row, 1);
  k.name = r.text(row, 2);
  k.scopes = key_secret::split_scopes(r.text(row, 3));
  k.rpm = r.i64(row, 4);
  k.tpm = r.i64(row, 5);
  k.monthly_tokens = r.i64(row, 6);
  k.created_ms = r.i64(row, 7);
  k.revoked_ms = r.i64(row, 8);
  return k;
}

// The schema; each statement runs on its own inside one transaction that holds an advisory lock,
// so servers starting together do not race on CREATE ... IF NOT EXISTS.
constexpr const char* kSchema[] = {
    "CREATE TABLE IF NOT EXISTS forge_api_keys (id BIGSERIAL PRIMARY KEY, public_id TEXT NOT NULL UNIQUE, "
    "name TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, salt TEXT NOT NULL, hash BYTEA NOT NULL, rpm BIGINT NOT NULL, "
    "tpm BIGINT NOT NULL, monthly_tokens BIGINT NOT NULL, created_ms BIGINT NOT NULL, revoked_ms BIGINT NOT NULL "
    "DEFAULT 0)",
    "CREATE TABLE IF NOT EXISTS forge_usage (id BIGSERIAL PRIMARY KEY, time_ms BIGINT NOT NULL, key_id BIGINT NOT "
    "NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, prompt_tokens BIGINT NOT NULL, completion_tokens BIGINT NOT "
    "NULL, latency_ms DOUBLE PRECISION NOT NULL, status INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS forge_usage_key_time ON forge_usage (key_id, time_ms)",
    "CREATE INDEX IF NOT EXISTS forge_usage_time ON forge_usage (time_ms)",
    "CREATE TABLE IF NOT EXISTS forge_usage_monthly (key_id BIGINT NOT NULL, month_start_ms BIGINT NOT NULL, "
    "tokens BIGINT NOT NULL, PRIMARY KEY (key_id, month_start_ms))",
    // Each ledger row carries a random id, so a statement retried after its commit was lost with
    // the connection is recognized and not counted twice (older tables gain the column; their
    // rows keep NULL, which a unique index allows any number of times).
    "ALTER TABLE forge_usage ADD COLUMN IF NOT EXISTS row_id TEXT",
    "CREATE UNIQUE INDEX IF NOT EXISTS forge_usage_row_id ON forge_usage (row_id)",
};
// pg_advisory_xact_lock key for schema creation ("forgekey" in ASCII).
constexpr const char* kSchemaLock = "7381424352286873977";

class PgKeyStore final : public KeyStore {
 public:
  explicit PgKeyStore(std::string url) : url_(std::move(url)), shown_(redact_postgres_url(url_)) {
    char* err = nullptr;
    PQconninfoOption* parsed = libpq().conninfo_parse(url_.c_str(), &err);
    if (parsed == nullptr) {
      std::string msg = err ? scrub(one_line(err)) : "out of memory";
      libpq().freemem(err);
      fail("[keys] bad PostgreSQL URL '{}': {}", shown_, msg);
    }
    libpq().conninfo_free(parsed);
    with_connection([&] {
      transaction([&] {
        exec("SELECT pg_advisory_xact_lock($1::bigint)", {kSchemaLock});
        for (const char* sql : kSchema) exec(sql);
      });
    });
  }
  ~PgKeyStore() override { libpq().finish(conn_); }
  PgKeyStore(const PgKeyStore&) = delete;
  PgKeyStore& operator=(const PgKeyStore&) = delete;

  std::pair<ApiKey, std::string> create_key(const NewKey& spec) override {
    key_secret::validate_new_key(spec);
    return with_connection([&] {
      auto [public_id, secret] = key_secret::new_secret();
      std::string salt = key_secret::new_salt();
      try {
        Result r = exec(fmt::format("INSERT INTO forge_api_keys (public_id, name, scopes, salt, hash, rpm, tpm, "
                                    "monthly_tokens, created_ms) VALUES ($1, $2, $3, $4, $5::bytea, $6, $7, $8, $9) "
                                    "RETURNING {}",
                                    key_secret::kKeyColumns),
                        {public_id, spec.name, key_secret::join_scopes(spec.scopes), salt,
                         bytea_param(key_secret::salted_hash(salt, secret)), std::to_string(spec.rpm),
                         std::to_string(spec.tpm), std::to_string(spec.monthly_tokens), std::to_string(now_ms())});
        return std::pair{key_from_row(r, 0), secret};
      } catch (const SqlError& e) {
        // The UNIQUE constraint, not a prior SELECT, decides: two servers may create at once.
        if (e.sqlstate == "23505" && e.constraint == "forge_api_keys_name_key") {
          fail("[keys] a key named '{}' already exists", spec.name);
        }
        throw;
      }
    });
  }

  std::vector<ApiKey> list_keys() const override {
    return with_connection([&] {
      Result r = exec(fmt::format("SELECT {} FROM forge_api_keys ORDER BY id", key_secret::kKeyColumns));
      std::vector<ApiKey> out;
      for (int i = 0; i < r.rows(); ++i) out.push_back(key_from_row(r, i));
      return out;
    });
  }

  std::optional<ApiKey> find_key(const std::string& id_or_name) const override {
    return with_connection([&] { return find_locked(id_or_name); });
  }

  ApiKey revoke_key(const std::string& id_or_name) override {
    return with_connection([&] {
      auto k = find_locked(id_or_name);
      FORGE_CHECK(k.has_value(), "[keys] no key '{}'", id_or_name);
      // Only an active key gets a revocation time (a second revoke keeps the first time).
      Result r = exec(fmt::format("UPDATE forge_api_keys SET revoked_ms = $2 WHERE id = $1 AND revoked_ms = 0 "
                                  "RETURNING {}",
                                  key_secret::kKeyColumns),
                      {std::to_string(k->id), std::to_string(now_ms())});
      return r.rows() == 1 ? key_from_row(r, 0) : *find_locked(std::to_string(k->id));
    });
  }

  std::pair<ApiKey, std::string> rotate_key(const std::string& id_or_name) override {
    return with_connection([&] {
      auto k = find_locked(id_or_name);
      FORGE_CHECK(k.has_value(), "[keys] no key '{}'", id_or_name);
      auto [public_id, secret] = key_secret::new_secret();
      std::string salt = key_secret::new_salt();
      // "AND revoked_ms = 0" in the same statement: a revoke by another server in between wins.
      Result r = exec(fmt::format("UPDATE forge_api_keys SET public_id = $2, salt = $3, hash = $4::bytea WHERE id = $1 "
                                  "AND revoked_ms = 0 RETURNING {}",
                                  key_secret::kKeyColumns),
                      {std::to_string(k->id), public_id, salt, bytea_param(key_secret::salted_hash(salt, secret))});
      FORGE_CHECK(r.rows() == 1, "[keys] key '{}' is revoked; create a new one", k->name);
      return std::pair{key_from_row(r, 0), secret};
    });
  }

  std::optional<ApiKey> authenticate(const std::string& secret) const override {
    auto public_id = key_secret::public_id_of(secret);
    if (!public_id) return std::nullopt;
    return with_connection([&]() -> std::optional<ApiKey> {
      Result r =
          exec(fmt::format("SELECT {}, salt, hash FROM forge_api_keys WHERE public_id = $1", key_secret::kKeyColumns),
               {*public_id});
      if (r.rows() == 0) return std::nullopt;
      ApiKey k = key_from_row(r, 0);
      if (!key_secret::matches(r.text(0, 9), r.bytes(0, 10), secret)) return std::nullopt;
      if (k.revoked_ms != 0) return std::nullopt;
      return k;
    });
  }

  void record_usage(const UsageRow& row) override {
    // The id is drawn once, outside the attempt: a retry after a lost connection sends the same
    // id, and if the first attempt did commit, ON CONFLICT skips the row and (through the empty
    // RETURNING) the monthly total too: the row is counted exactly once.
    const std::string row_id = key_secret::random_hex(16);
    with_connection([&] {
      // One statement, so atomic: the ledger row and the key's monthly total move together.
      exec(
          "WITH ledger AS (INSERT INTO forge_usage (time_ms, key_id, model, endpoint, prompt_tokens, "
          "completion_tokens, latency_ms, status, row_id) VALUES ($1::bigint, $2::bigint, $3, $4, $5::bigint, "
          "$6::bigint, $7::double precision, $8::integer, $10) ON CONFLICT (row_id) DO NOTHING RETURNING 1) "
          "INSERT INTO forge_usage_monthly (key_id, month_start_ms, tokens) SELECT $2::bigint, $9::bigint, "
          "$5::bigint + $6::bigint FROM ledger ON CONFLICT (key_id, month_start_ms) DO UPDATE SET tokens = "
          "forge_usage_monthly.tokens + EXCLUDED.tokens",
          {std::to_string(row.time_ms), std::to_string(row.key_id), row.model, row.endpoint,
           std::to_string(row.prompt_tokens), std::to_string(row.completion_tokens), fmt::format("{}", row.latency_ms),
           std::to_string(row.status), std::to_string(month_start_ms(row.time_ms)), row_id});
      if (testing::lose_next_usage_commit.exchange(false))
        throw ConnectionLost("connection lost after the commit (test)");
    });
  }

  std::vector<UsageRow> usage(const UsageFilter& filter) const override {
    std::string sql =
        "SELECT time_ms, key_id, model, endpoint, prompt_tokens, completion_tokens, latency_ms, status FROM "
        "forge_usage WHERE time_ms >= $1::bigint";
    std::vector<std::string> params{std::to_string(filter.since_ms)};
    if (filter.key_id) {
      sql += " AND key_id = $2::bigint";
      params.push_back(std::to_string(*filter.key_id));
    }
    sql += " ORDER BY id";
    return with_connection([&] {
      Result r = exec(sql, params);
      std::vector<UsageRow> out;
      for (int i = 0; i < r.rows(); ++i) {
        UsageRow u;
        u.time_ms = r.i64(i, 0);
        u.key_id = r.i64(i, 1);
        u.model = r.text(i, 2);
        u.endpoint = r.text(i, 3);
        u.prompt_tokens = r.i64(i, 4);
        u.completion_tokens = r.i64(i, 5);
        u.latency_ms = r.f64(i, 6);
        u.status = static_cast<int>(r.i64(i, 7));
        out.push_back(std::move(u));
      }
      return out;
    });
  }

  int64_t tokens_used(int64_t key_id, int64_t since_ms) const override {
    // From a month boundary (what quotas ask), the per-month totals answer with one index
    // lookup; any other start sums the ledger.
    const char* sql = since_ms == month_start_ms(since_ms)
                          ? "SELECT COALESCE(SUM(tokens), 0) FROM forge_usage_monthly WHERE key_id = $1::bigint AND "
                            "month_start_ms >= $2::bigint"
                          : "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM forge_usage WHERE "
                            "key_id = $1::bigint AND time_ms >= $2::bigint";
    return with_connection([&] {
      Result r = exec(sql, {std::to_string(key_id), std::to_string(since_ms)});
      return r.i64(0, 0);
    });
  }

  int64_t usage_rows() const override {
    return with_connection([&] { return exec("SELECT COUNT(*) FROM forge_usage").i64(0, 0); });
  }

  bool shared_ledger() const override { return true; }

 private:
  // Runs `attempt` with the connection held; when the connection turns out broken (server
  // restarted, idle connection dropped), reconnects once and runs it again.
  template <typename F>
  auto with_connection(F&& attempt) const -> decltype(attempt()) {
    std::lock_guard lock(mu_);
    if (conn_ == nullptr || libpq().status(conn_) != CONNECTION_OK) connect_locked();
    try {
      return attempt();
    } catch (const ConnectionLost&) {
      connect_locked();
      try {
        return attempt();
      } catch (const ConnectionLost& e) {
        fail("[keys] lost the connection to PostgreSQL at {}: {}", shown_, e.what());
      }
    }
  }

  void connect_locked() const {
    libpq().finish(conn_);
    // Defaults first: settings in the URL (expanded from dbname) override them.
    const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
    const char* values[] = {"10", "forge", url_.c_str(), nullptr};
    conn_ = libpq().connectdb_params(keywords, values, 1);
    if (conn_ == nullptr || libpq().status(conn_) != CONNECTION_OK) {
      std::string msg = conn_ ? scrub(one_line(libpq().error_message(conn_))) : "out of memory";
      libpq().finish(conn_);
      conn_ = nullptr;
      fail("[keys] cannot connect to PostgreSQL at {}: {}", shown_, msg);
    }
    // CREATE ... IF NOT EXISTS sends NOTICEs; libpq would print them on stderr.
    libpq().set_notice_processor(
        conn_, [](void*, const char*) {}, nullptr);
  }

  Result exec(const std::string& sql, const std::vector<std::string>& params = {}) const {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p.c_str());
    PGresult* r = libpq().exec_params(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                                      nullptr, nullptr, 0);
    ExecStatusType status = r ? libpq().result_status(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Result(r);
    std::string msg = scrub(one_line(r ? libpq().result_error_message(r) : libpq().error_message(conn_)));
    std::string state = field(r, PG_DIAG_SQLSTATE), constraint = field(r, PG_DIAG_CONSTRAINT_NAME);
    libpq().clear(r);
    if (libpq().status(conn_) == CONNECTION_BAD) throw ConnectionLost(msg);
    throw SqlError(fmt::format("[keys] PostgreSQL error at {}: {}", shown_, msg), state, constraint);
  }

  // libpq quotes the URI in some messages ("... in URI: \"postgresql://u:pw@...\""): redact it.
  std::string scrub(std::string msg) const {
    for (size_t at = msg.find(url_); !url_.empty() && at != std::string::npos;
         at = msg.find(url_, at + shown_.size())) {
      msg.replace(at, url_.size(), shown_);
    }
    return msg;
  }

  // BEGIN ... COMMIT around `body`; ROLLBACK when it throws (unless the connection is gone).
  template <typename F>
  void transaction(F&& body) const {
    exec("BEGIN");
    try {
      body();
    } catch (const ConnectionLost&) {
      throw;
    } catch (...) {
      try {
        exec("ROLLBACK");
      } catch (...) {  // the original error is the one worth reporting
      }
      throw;
    }
    exec("COMMIT");
  }

  std::optional<ApiKey> find_locked(const std::string& id_or_name) const {
    bool numeric = !id_or_name.empty() && id_or_name.size() <= 18 &&
                   id_or_name.find_first_not_of("0123456789") == std::string::npos;
    Result r = exec(fmt::format("SELECT {} FROM forge_api_keys WHERE {}", key_secret::kKeyColumns,
                                numeric ? "id = $1::bigint" : "public_id = $1 OR name = $1 ORDER BY id LIMIT 1"),
                    {id_or_name});
    if (r.rows() == 0) return std::nullopt;
    return key_from_row(r, 0);
  }

  std::string url_;
  std::string shown_;  // url_ without the password
  mutable PGconn* conn_ = nullptr;
  mutable std::mutex mu_;
};

}  // namespace

std::unique_ptr<KeyStore> open_postgres_keystore(const std::string& url) { return std::make_unique<PgKeyStore>(url); }

std::string redact_postgres_url(const std::string& url) {
  std::string out = url;
  size_t scheme = out.find("://");
  if (scheme != std::string::npos) {
    size_t begin = scheme + 3;
    size_t end = out.find_first_of("/?", begin);
    if (end == std::string::npos) end = out.size();
    size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
    if (at != std::string::npos && at >= begin) {
      size_t colon = out.find(':', begin);
      if (colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=... among the query parameters.
  for (size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
    if (pos == 0 || (out[pos - 1] != '?' && out[pos - 1] != '&')) continue;
    size_t value = pos + 9;
    size_t stop = out.find('&', value);
    out.replace(value, (stop == std::string::npos ? out.size() : stop) - value, "***");
  }
  return out;
}

bool is_postgres_url(const std::string& spec) {
  return spec.rfind("postgres://", 0) == 0 || spec.rfind("postgresql://", 0) == 0;
}

std::unique_ptr<KeyStore> open_keystore(const std::string& spec, int sqlite_usage_commit_ms) {
  FORGE_CHECK(!spec.empty(), "[keys] no key store given: a SQLite file path or a postgresql:// URL");
  return is_postgres_url(spec) ? open_postgres_keystore(spec) : open_sqlite_keystore(spec, sqlite_usage_commit_ms);
}

}  // namespace forge::serve
