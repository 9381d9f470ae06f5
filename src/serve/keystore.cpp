// SQLite implementation of KeyStore (see keystore.h). One connection guarded by a mutex. Ledger
// rows are one small INSERT per request: committed one by one (usage_commit_ms 0), or appended to
// the ledger journal (one write(2), survives kill -9) and handed to a writer thread that commits
// what arrived in a usage_commit_ms window as one transaction, which takes the commit (WAL
// append, file locks: tens of microseconds) off the request's path. Authenticated keys are
// cached by public id until another connection changes the file (PRAGMA data_version) or this
// store changes a key.
#include "serve/keystore.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "serve/key_secret.h"
#include "serve/ledger_journal.h"

namespace forge::serve {
namespace {

// One use of a statement from the store's cache of prepared statements: reset and unbound
// afterwards, ready for the next use.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* cached) : db_(db), stmt_(cached) {}
  ~Stmt() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_blob(int i, const std::vector<unsigned char>& v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // True while a row is available.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    FORGE_CHECK(rc == SQLITE_DONE, "[keys] SQL error: {}", sqlite3_errmsg(db_));
    return false;
  }
  int64_t i64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double f64(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(stmt_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  std::vector<unsigned char> blob(int col) const {
    const auto* b = static_cast<const unsigned char*>(sqlite3_column_blob(stmt_, col));
    return b ? std::vector<unsigned char>(b, b + sqlite3_column_bytes(stmt_, col)) : std::vector<unsigned char>();
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

ApiKey key_from_row(const Stmt& s) {
  ApiKey k;
  k.id = s.i64(0);
  k.public_id = s.text(1);
  k.name = s.text(2);
  k.scopes = key_secret::split_scopes(s.text(3));
  k.rpm = s.i64(4);
  k.tpm = s.i64(5);
  k.monthly_tokens = s.i64(6);
  k.created_ms = s.i64(7);
  k.revoked_ms = s.i64(8);
  return k;
}

class SqliteKeyStore final : public KeyStore {
 public:
  SqliteKeyStore(const std::string& path, int usage_commit_ms) : path_(path), usage_commit_ms_(usage_commit_ms) {
    FORGE_CHECK(usage_commit_ms >= 0 && usage_commit_ms <= 10000,
                "[keys] the ledger commit window must be 0..10000 ms (got {})", usage_commit_ms);
    int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      fail("[keys] cannot open key store '{}': {}", path, msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=NORMAL");
    exec(
        "CREATE TABLE IF NOT EXISTS api_keys (id INTEGER PRIMARY KEY AUTOINCREMENT, public_id TEXT UNIQUE NOT NULL, "
        "name TEXT NOT NULL, scopes TEXT NOT NULL, salt TEXT NOT NULL, hash BLOB NOT NULL, rpm INTEGER NOT NULL, "
        "tpm INTEGER NOT NULL, monthly_tokens INTEGER NOT NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER NOT "
        "NULL DEFAULT 0)");
    exec(
        "CREATE TABLE IF NOT EXISTS usage (id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, key_id "
        "INTEGER NOT NULL, model TEXT NOT NULL, endpoint TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, "
        "completion_tokens INTEGER NOT NULL, latency_ms REAL NOT NULL, status INTEGER NOT NULL)");
    exec("CREATE INDEX IF NOT EXISTS usage_key_time ON usage (key_id, time_ms)");
    // Journals whose rows are committed (a writer dies between its commit and deleting the file).
    exec("CREATE TABLE IF NOT EXISTS ledger_journals (name TEXT PRIMARY KEY)");
    replay_orphan_journals();
    if (usage_commit_ms_ > 0) {
      journal_token_ = new_journal_token();
      journal_ = next_journal();
      writer_ = std::thread([this] { write_usage_loop(); });
    }
  }
  ~SqliteKeyStore() override {
    if (writer_.joinable()) {
      {
        std::lock_guard q(queue_mu_);
        writer_stop_ = true;
      }
      queue_cv_.notify_one();
      writer_.join();
    }
    closing_ = true;  // the last commit starts no new journal file
    try {
      flush_usage();  // every row recorded before the store closes is committed
      std::lock_guard lock(mu_);
      forget_committed_journals_locked();
      if (journal_) journal_->remove();  // holds no rows: they were all committed above
    } catch (const std::exception& e) {
      fmt::print(stderr, "forge: ledger rows not committed on close (kept in the journal for the next open): {}\n",
                 e.what());
    }
    for (auto& [sql, stmt] : prepared_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  std::pair<ApiKey, std::string> create_key(const NewKey& spec) override {
    key_secret::validate_new_key(spec);
    std::lock_guard lock(mu_);
    FORGE_CHECK(!find_locked(spec.name), "[keys] a key named '{}' already exists", spec.name);
    auto [public_id, secret] = key_secret::new_secret();
    std::string salt = key_secret::new_salt();
    Stmt s = stmt(
        "INSERT INTO api_keys (public_id, name, scopes, salt, hash, rpm, tpm, monthly_tokens, created_ms) VALUES "
        "(?,?,?,?,?,?,?,?,?)");
    s.bind(1, public_id).bind(2, spec.name).bind(3, key_secret::join_scopes(spec.scopes)).bind(4, salt);
    s.bind_blob(5, key_secret::salted_hash(salt, secret))
        .bind(6, spec.rpm)
        .bind(7, spec.tpm)
        .bind(8, spec.monthly_tokens);
    s.bind(9, now_ms());
    s.step();
    return {*find_locked(std::to_string(sqlite3_last_insert_rowid(db_))), secret};
  }

  std::vector<ApiKey> list_keys() const override {
    std::lock_guard lock(mu_);
    Stmt s = stmt(fmt::format("SELECT {} FROM api_keys ORDER BY id", key_secret::kKeyColumns));
    std::vector<ApiKey> out;
    while (s.step()) out.push_back(key_from_row(s));
    return out;
  }

  std::optional<ApiKey> find_key(const std::string& id_or_name) const override {
    std::lock_guard lock(mu_);
    return find_locked(id_or_name);
  }

  ApiKey revoke_key(const std::string& id_or_name) override {
    std::lock_guard lock(mu_);
    auto k = find_locked(id_or_name);
    FORGE_CHECK(k.has_value(), "[keys] no key '{}'", id_or_name);
    if (k->revoked_ms == 0) {
      Stmt s = stmt("UPDATE api_keys SET revoked_ms = ? WHERE id = ?");
      s.bind(1, now_ms()).bind(2, k->id).step();
      key_cache_.clear();
    }
    return *find_locked(std::to_string(k->id));
  }

  std::pair<ApiKey, std::string> rotate_key(const std::string& id_or_name) override {
    std::lock_guard lock(mu_);
    auto k = find_locked(id_or_name);
    FORGE_CHECK(k.has_value(), "[keys] no key '{}'", id_or_name);
    FORGE_CHECK(k->revoked_ms == 0, "[keys] key '{}' is revoked; create a new one", k->name);
    auto [public_id, secret] = key_secret::new_secret();
    std::string salt = key_secret::new_salt();
    Stmt s = stmt("UPDATE api_keys SET public_id = ?, salt = ?, hash = ? WHERE id = ?");
    s.bind(1, public_id).bind(2, salt).bind_blob(3, key_secret::salted_hash(salt, secret)).bind(4, k->id).step();
    key_cache_.clear();
    return {*find_locked(std::to_string(k->id)), secret};
  }

  std::optional<ApiKey> authenticate(const std::string& secret) const override {
    auto public_id = key_secret::public_id_of(secret);
    if (!public_id) return std::nullopt;
    std::lock_guard lock(mu_);
    // The cache holds what the file held at this data version: another connection's commit
    // (`forge keys revoke` in another process) changes the version and empties the cache.
    Stmt v = stmt("PRAGMA data_version");
    const int64_t version = v.step() ? v.i64(0) : -1;
    if (version != cache_version_) {
      key_cache_.clear();
      cache_version_ = version;
    }
    auto it = key_cache_.find(*public_id);
    if (it == key_cache_.end()) {
      Stmt s = stmt(fmt::format("SELECT {}, salt, hash FROM api_keys WHERE public_id = ?", key_secret::kKeyColumns));
      s.bind(1, *public_id);
      if (!s.step()) return std::nullopt;
      if (key_cache_.size() >= kMaxCachedKeys) key_cache_.clear();
      it = key_cache_.emplace(*public_id, CachedKey{key_from_row(s), s.text(9), s.blob(10)}).first;
    }
    const CachedKey& c = it->second;
    if (!key_secret::matches(c.salt, c.hash, secret)) return std::nullopt;
    if (c.key.revoked_ms != 0) return std::nullopt;
    return c.key;
  }

  void record_usage(const UsageRow& row) override {
    if (usage_commit_ms_ > 0) {
      bool was_empty;
      std::string journal_error;
      {
        std::lock_guard q(queue_mu_);
        was_empty = pending_.empty();
        pending_.push_back(row);
        // Every queued row is in the current journal file: the committer swaps both at once.
        if (journal_) {
          try {
            journal_->append(row);
          } catch (const std::exception& e) {
            journal_error = e.what();
          }
        }
      }
      if (was_empty) queue_cv_.notify_one();
      FORGE_CHECK(journal_error.empty(), "{} (the row is queued for the next commit but would not survive a crash)",
                  journal_error);
      return;
    }
    std::lock_guard lock(mu_);
    insert_usage_locked(row);
  }

  void flush_usage() override {
    std::lock_guard lock(mu_);
    flush_usage_locked();
  }

  std::vector<UsageRow> usage(const UsageFilter& filter) const override {
    std::lock_guard lock(mu_);
    flush_usage_locked();  // readers see every row recorded before the call
    std::string sql =
        "SELECT time_ms, key_id, model, endpoint, prompt_tokens, completion_tokens, latency_ms, status FROM usage "
        "WHERE time_ms >= ?";
    if (filter.key_id) sql += " AND key_id = ?";
    sql += " ORDER BY id";
    Stmt s = stmt(sql);
    s.bind(1, filter.since_ms);
    if (filter.key_id) s.bind(2, *filter.key_id);
    std::vector<UsageRow> out;
    while (s.step()) {
      UsageRow r;
      r.time_ms = s.i64(0);
      r.key_id = s.i64(1);
      r.model = s.text(2);
      r.endpoint = s.text(3);
      r.prompt_tokens = s.i64(4);
      r.completion_tokens = s.i64(5);
      r.latency_ms = s.f64(6);
      r.status = static_cast<int>(s.i64(7));
      out.push_back(std::move(r));
    }
    return out;
  }

  int64_t tokens_used(int64_t key_id, int64_t since_ms) const override {
    std::lock_guard lock(mu_);
    flush_usage_locked();
    Stmt s =
        stmt("SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM usage WHERE key_id = ? AND time_ms >= ?");
    s.bind(1, key_id).bind(2, since_ms);
    return s.step() ? s.i64(0) : 0;
  }

  int64_t usage_rows() const override {
    std::lock_guard lock(mu_);
    flush_usage_locked();
    Stmt s = stmt("SELECT COUNT(*) FROM usage");
    return s.step() ? s.i64(0) : 0;
  }

 private:
  void exec(const char* sql) const {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      fail("[keys] key store '{}': {} ({})", path_, msg, sql);
    }
  }

  void insert_usage_locked(const UsageRow& row) const {
    Stmt s = stmt(
        "INSERT INTO usage (time_ms, key_id, model, endpoint, prompt_tokens, completion_tokens, latency_ms, status) "
        "VALUES (?,?,?,?,?,?,?,?)");
    s.bind(1, row.time_ms).bind(2, row.key_id).bind(3, row.model).bind(4, row.endpoint);
    s.bind(5, row.prompt_tokens).bind(6, row.completion_tokens).bind(7, row.latency_ms).bind(8, int64_t{row.status});
    s.step();
  }

  // Commits the queued ledger rows as one transaction; call with mu_ held (so groups are
  // committed in the order they were queued). Rows of a failed commit are lost and the error
  // is thrown.
  void flush_usage_locked() const {
    {
      std::lock_guard q(queue_mu_);
      if (pending_.empty()) return;
    }
    // The next journal file is made before the swap, outside the queue lock that requests take.
    std::unique_ptr<LedgerJournalFile> next = journal_ && !closing_ ? next_journal() : nullptr;
    std::vector<UsageRow> rows;
    std::unique_ptr<LedgerJournalFile> done;  // holds exactly `rows`
    {
      std::lock_guard q(queue_mu_);
      rows.swap(pending_);
      if (journal_) {
        done = std::move(journal_);
        journal_ = std::move(next);
      }
    }
    exec("BEGIN");
    try {
      for (const auto& r : rows) insert_usage_locked(r);
      if (done) stmt("INSERT INTO ledger_journals (name) VALUES (?)").bind(1, done->name()).step();
      for (const auto& name : committed_journals_) {
        stmt("DELETE FROM ledger_journals WHERE name = ?").bind(1, name).step();
      }
      exec("COMMIT");
    } catch (...) {
      // The rows stay in `done`'s file, which the next process to open the store replays.
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    committed_journals_.clear();
    if (done) {
      done->remove();
      committed_journals_.push_back(done->name());  // forgotten in the next transaction
    }
  }

  void forget_committed_journals_locked() const {
    for (const auto& name : committed_journals_) {
      stmt("DELETE FROM ledger_journals WHERE name = ?").bind(1, name).step();
    }
    committed_journals_.clear();
  }

  std::unique_ptr<LedgerJournalFile> next_journal() const {
    return std::make_unique<LedgerJournalFile>(path_, journal_token_, journal_generation_++);
  }

  // Commits the rows of journals whose writers died (kill -9, power loss of the process) and
  // deletes the files. A journal already committed (its writer died before deleting it) is only
  // deleted. Failures are reported and leave the files for the next open.
  void replay_orphan_journals() {
    std::vector<OrphanJournal> orphans;
    try {
      orphans = take_orphan_journals(path_);
    } catch (const std::exception& e) {
      fmt::print(stderr, "forge: cannot look for ledger journals of '{}': {}\n", path_, e.what());
      return;
    }
    std::lock_guard lock(mu_);
    for (auto& j : orphans) {
      try {
        exec("BEGIN IMMEDIATE");
        try {
          bool committed = stmt("SELECT 1 FROM ledger_journals WHERE name = ?").bind(1, j.name).step();
          if (!committed) {
            for (const auto& r : j.rows) insert_usage_locked(r);
          }
          stmt("DELETE FROM ledger_journals WHERE name = ?").bind(1, j.name).step();
          exec("COMMIT");
          if (!committed && (!j.rows.empty() || j.dropped_bytes > 0)) {
            fmt::print(stderr, "forge: recovered {} ledger row(s) from '{}'{}\n", j.rows.size(), j.path,
                       j.dropped_bytes ? fmt::format(" ({} bytes of a torn last record dropped)", j.dropped_bytes)
                                       : std::string());
          }
        } catch (...) {
          sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
          throw;
        }
        ::unlink(j.path.c_str());
      } catch (const std::exception& e) {
        fmt::print(stderr, "forge: cannot replay the ledger journal '{}' (kept for the next open): {}\n", j.path,
                   e.what());
      }
    }
  }

  // The writer thread: wakes on the first queued row, lets the window fill, commits the group.
  void write_usage_loop() {
    std::unique_lock q(queue_mu_);
    while (true) {
      queue_cv_.wait(q, [&] { return writer_stop_ || !pending_.empty(); });
      if (writer_stop_) return;  // the destructor commits what is left
      if (queue_cv_.wait_for(q, std::chrono::milliseconds(usage_commit_ms_), [&] { return writer_stop_; })) return;
      q.unlock();
      try {
        flush_usage();
      } catch (const std::exception& e) {
        fmt::print(stderr, "forge serve: ledger write failed: {}\n", e.what());
      }
      q.lock();
    }
  }

  // The cached prepared statement for `sql` (prepared on first use); call with mu_ held. Saves
  // the parse and plan (~10 us) on every request's key lookup and ledger insert.
  Stmt stmt(const std::string& sql) const {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
      sqlite3_stmt* st = nullptr;
      FORGE_CHECK(sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) == SQLITE_OK,
                  "[keys] SQL error: {} ({})", sqlite3_errmsg(db_), sql);
      it = prepared_.emplace(sql, st).first;
    }
    return Stmt(db_, it->second);
  }

  std::optional<ApiKey> find_locked(const std::string& id_or_name) const {
    bool numeric = !id_or_name.empty() && id_or_name.find_first_not_of("0123456789") == std::string::npos;
    Stmt s = stmt(fmt::format("SELECT {} FROM api_keys WHERE {}", key_secret::kKeyColumns,
                              numeric ? "id = ?" : "public_id = ? OR name = ?"));
    if (numeric) {
      s.bind(1, static_cast<int64_t>(std::stoll(id_or_name)));
    } else {
      s.bind(1, id_or_name).bind(2, id_or_name);
    }
    if (!s.step()) return std::nullopt;
    return key_from_row(s);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  mutable std::mutex mu_;
  mutable std::unordered_map<std::string, sqlite3_stmt*> prepared_;  // guarded by mu_
  const int usage_commit_ms_;
  mutable std::mutex queue_mu_;  // guards pending_ and writer_stop_; taken after mu_, never before
  mutable std::vector<UsageRow> pending_;
  // The journal file holding exactly pending_'s rows (usage_commit_ms_ > 0); swapped with
  // pending_ under queue_mu_.
  mutable std::unique_ptr<LedgerJournalFile> journal_;
  std::string journal_token_;
  mutable int64_t journal_generation_ = 0;               // guarded by mu_
  mutable std::vector<std::string> committed_journals_;  // deleted files still named in ledger_journals; mu_
  std::atomic<bool> closing_{false};
  struct CachedKey {
    ApiKey key;
    std::string salt;
    std::vector<unsigned char> hash;
  };
  static constexpr size_t kMaxCachedKeys = 4096;
  mutable std::unordered_map<std::string, CachedKey> key_cache_;  // by public id; guarded by mu_
  mutable int64_t cache_version_ = -1;                            // PRAGMA data_version of key_cache_
  std::condition_variable queue_cv_;
  bool writer_stop_ = false;
  std::thread writer_;  // only with usage_commit_ms_ > 0
};

}  // namespace

bool ApiKey::has_scope(const std::string& scope) const {
  for (const auto& s : scopes) {
    if (s == scope) return true;
  }
  return false;
}

std::unique_ptr<KeyStore> open_sqlite_keystore(const std::string& path, int usage_commit_ms) {
  return std::make_unique<SqliteKeyStore>(path, usage_commit_ms);
}

std::vector<std::string> parse_scopes(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string s = text.substr(start, comma - start);
    while (!s.empty() && s.front() == ' ') s.erase(s.begin());
    while (!s.empty() && s.back() == ' ') s.pop_back();
    if (!s.empty()) {
      FORGE_CHECK(s == kScopeInference || s == kScopeMetrics || s == kScopeAdmin,
                  "[keys] unknown scope '{}' (known: inference, metrics, admin)", s);
      out.push_back(s);
    }
    start = comma + 1;
  }
  FORGE_CHECK(!out.empty(), "[keys] --scopes is empty (known: inference, metrics, admin)");
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t month_start_ms(int64_t t_ms) {
  std::time_t t = static_cast<std::time_t>(t_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

int64_t parse_since(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    return static_cast<int64_t>(std::stoll(text)) * 1000;
  }
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr || *end != '\0') {
    tm = std::tm{};
    end = strptime(text.c_str(), "%Y-%m-%d", &tm);
  }
  FORGE_CHECK(end != nullptr && *end == '\0',
              "[usage] --since '{}' is not a date (2024-05-01, 2024-05-01T12:00:00 UTC, or unix seconds)", text);
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

std::string format_time_ms(int64_t t_ms) {
  std::time_t t = static_cast<std::time_t>(t_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, static_cast<int>(t_ms % 1000));
}

}  // namespace forge::serve
