// The SQLite ledger's group commit (open_sqlite_keystore with a commit window): rows from
// concurrent writers are all committed, by the writer thread within the window, by readers and
// flush_usage() at once, and by closing the store; `forge serve` keeps every row on SIGTERM and
// on kill -9 (the ledger journal, replayed by the next open exactly once, torn tails dropped).
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "serve/keystore.h"
#include "serve/ledger_journal.h"
#include "test_util.h"

namespace forge::serve {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct LedgerDb {
  std::string path;
  LedgerDb() {
    static int n = 0;
    path = (fs::temp_directory_path() /
            ("forge-ledger-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".db"))
               .string();
  }
  ~LedgerDb() {
    for (const auto& f : files()) fs::remove(f);
  }
  // The database and every file beside it named after it (-wal, -shm, ledger journals).
  std::vector<std::string> files() const {
    std::vector<std::string> out;
    const std::string name = fs::path(path).filename().string();
    for (const auto& e : fs::directory_iterator(fs::path(path).parent_path())) {
      if (e.path().filename().string().rfind(name, 0) == 0) out.push_back(e.path().string());
    }
    return out;
  }
  std::vector<std::string> journals() const {
    std::vector<std::string> out;
    for (const auto& f : files()) {
      if (f.find(".db-ledger") != std::string::npos) out.push_back(f);
    }
    return out;
  }
};

UsageRow row(int64_t key_id, int64_t i) {
  UsageRow r;
  r.time_ms = 1000 + i;
  r.key_id = key_id;
  r.model = "m";
  r.endpoint = "/v1/embeddings";
  r.prompt_tokens = i;
  r.completion_tokens = 1;
  r.latency_ms = 0.5;
  r.status = 200;
  return r;
}

// Rows visible to a second connection: committed to the file, not just queued in memory.
int64_t rows_on_disk(const std::string& path) { return open_sqlite_keystore(path)->usage_rows(); }

TEST(LedgerGroupCommit, ConcurrentWritersRowsAllCommitted) {
  LedgerDb db;
  auto store = open_sqlite_keystore(db.path, 2);
  constexpr int kThreads = 4, kRows = 500;
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kRows; ++i) store->record_usage(row(t + 1, i));
    });
  }
  for (auto& w : writers) w.join();
  EXPECT_EQ(store->usage_rows(), kThreads * kRows);  // readers commit the queue first
  EXPECT_EQ(rows_on_disk(db.path), kThreads * kRows);
  // Each writer's rows, in its order, with their values.
  auto mine = store->usage({.key_id = 3, .since_ms = 0});
  ASSERT_EQ(mine.size(), static_cast<size_t>(kRows));
  for (int i = 0; i < kRows; ++i) EXPECT_EQ(mine[static_cast<size_t>(i)].prompt_tokens, i);
  EXPECT_EQ(store->tokens_used(3, 0), kRows * (kRows - 1) / 2 + kRows);
}

TEST(LedgerGroupCommit, WriterThreadCommitsWithinTheWindow) {
  LedgerDb db;
  auto store = open_sqlite_keystore(db.path, 5);
  for (int i = 0; i < 10; ++i) store->record_usage(row(1, i));
  int64_t seen = 0;
  for (int i = 0; i < 100 && seen < 10; ++i) {  // no reader on `store`: only the writer commits
    std::this_thread::sleep_for(10ms);
    seen = rows_on_disk(db.path);
  }
  EXPECT_EQ(seen, 10);
}

TEST(LedgerGroupCommit, FlushAndCloseCommitEverything) {
  LedgerDb db;
  {
    auto store = open_sqlite_keystore(db.path, 10000);  // the writer would wait 10 s
    for (int i = 0; i < 7; ++i) store->record_usage(row(1, i));
    store->flush_usage();
    EXPECT_EQ(rows_on_disk(db.path), 7);
    for (int i = 0; i < 5; ++i) store->record_usage(row(1, i));
  }  // closing commits the rest, without waiting out the window
  EXPECT_EQ(rows_on_disk(db.path), 12);
}

TEST(LedgerGroupCommit, ZeroWindowCommitsEachRow) {
  LedgerDb db;
  auto store = open_sqlite_keystore(db.path, 0);
  store->record_usage(row(1, 0));
  EXPECT_EQ(rows_on_disk(db.path), 1);
  EXPECT_THROW_MSG(open_sqlite_keystore(db.path, -1), "the ledger commit window must be 0..10000 ms (got -1)");
}

TEST(LedgerJournal, GroupCommitDeletesItsJournals) {
  LedgerDb db;
  {
    auto store = open_sqlite_keystore(db.path, 10000);
    EXPECT_EQ(db.journals().size(), 1u);  // the (empty) file the next rows go to
    for (int i = 0; i < 3; ++i) store->record_usage(row(1, i));
    store->flush_usage();
    EXPECT_EQ(db.journals().size(), 1u);  // the committed file is gone, a fresh one waits
    store->record_usage(row(1, 3));
  }
  EXPECT_TRUE(db.journals().empty());
  EXPECT_EQ(rows_on_disk(db.path), 4);
}

// A writer that died (here: a journal file closed without being committed) is replayed by the
// next open, once; a torn last record is dropped.
TEST(LedgerJournal, OrphanIsReplayedOnceAndTornTailDropped) {
  LedgerDb db;
  open_sqlite_keystore(db.path);  // creates the schema
  {
    LedgerJournalFile j(db.path, "abc123", 0);
    for (int i = 0; i < 5; ++i) j.append(row(2, i));
    std::FILE* f = std::fopen(j.path().c_str(), "ab");
    ASSERT_NE(f, nullptr);
    std::fwrite("\x20\0\0\0garbage", 1, 11, f);  // a record header promising more than follows
    std::fclose(f);
  }  // closed without remove(): an orphan
  ASSERT_EQ(db.journals().size(), 1u);
  auto store = open_sqlite_keystore(db.path);
  EXPECT_EQ(store->usage_rows(), 5);
  auto rows = store->usage({.key_id = 2, .since_ms = 0});
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(rows[4].prompt_tokens, 4);
  EXPECT_EQ(rows[4].endpoint, "/v1/embeddings");
  EXPECT_DOUBLE_EQ(rows[4].latency_ms, 0.5);
  EXPECT_TRUE(db.journals().empty());
  EXPECT_EQ(rows_on_disk(db.path), 5);  // a second open finds nothing to replay
}

// The writer died after committing a journal's rows but before deleting the file: the store
// remembers the file's name and only deletes it.
TEST(LedgerJournal, CommittedOrphanIsNotReplayedAgain) {
  LedgerDb db;
  open_sqlite_keystore(db.path);
  std::string name;
  {
    LedgerJournalFile j(db.path, "def456", 7);
    j.append(row(3, 0));
    name = j.name();
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.path.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, ("INSERT INTO ledger_journals (name) VALUES ('" + name + "')").c_str(), nullptr, nullptr,
                         nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  EXPECT_EQ(rows_on_disk(db.path), 0);
  EXPECT_TRUE(db.journals().empty());
}

// A live writer's journal (locked) is not taken by another connection; its rows arrive once,
// through the writer's own commit.
TEST(LedgerJournal, LiveJournalIsLeftToItsWriter) {
  LedgerDb db;
  auto writer = open_sqlite_keystore(db.path, 10000);
  for (int i = 0; i < 3; ++i) writer->record_usage(row(4, i));
  EXPECT_EQ(rows_on_disk(db.path), 0);
  EXPECT_EQ(db.journals().size(), 1u);
  writer.reset();
  EXPECT_EQ(rows_on_disk(db.path), 3);
}

TEST(LedgerJournal, ForeignFileIsLeftAlone) {
  LedgerDb db;
  const std::string foreign = db.path + "-ledger-abcdef-1";
  {
    std::FILE* f = std::fopen(foreign.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("not a journal", f);
    std::fclose(f);
  }
  EXPECT_EQ(rows_on_disk(db.path), 0);
  EXPECT_TRUE(fs::exists(foreign));
}

// Starts `forge serve` on the no-op model with `extra` arguments; returns its pid and port.
std::pair<pid_t, int> start_server(const LedgerDb& db, const std::vector<std::string>& extra) {
  const auto forge = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "forge";
  const std::string port_file = db.path + ".out";
  std::vector<std::string> args = {"forge", "serve", "--port", "0", "--model", "noop=noop:", "--keys", db.path};
  args.insert(args.end(), extra.begin(), extra.end());
  pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(port_file.c_str(), "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(forge.c_str(), argv.data());
    ::_exit(127);
  }
  int port = 0;
  for (int i = 0; i < 300 && port == 0 && pid > 0; ++i) {
    std::this_thread::sleep_for(20ms);
    FILE* f = std::fopen(port_file.c_str(), "r");
    if (!f) continue;
    char line[512] = {};
    if (std::fgets(line, sizeof line, f)) {
      const char* at = std::strstr(line, "127.0.0.1:");
      if (at) port = std::atoi(at + 10);
    }
    std::fclose(f);
  }
  return {pid, port};
}

// `n` keyed POST /v1/embeddings with curl; the number answered 200.
int post_embeddings(int port, const std::string& key, int n) {
  const std::string cmd = "curl -s -w '%{http_code}\\n' -H 'Authorization: Bearer " + key +
                          "' -H 'Content-Type: application/json' -d '{\"model\":\"noop\",\"input\":\"hi\"}'";
  std::string urls;
  for (int i = 0; i < n; ++i) urls += " -o /dev/null http://127.0.0.1:" + std::to_string(port) + "/v1/embeddings";
  FILE* p = ::popen((cmd + urls).c_str(), "r");
  if (!p) return 0;
  int ok = 0;
  char line[64];
  while (std::fgets(line, sizeof line, p)) ok += std::string(line) == "200\n";
  ::pclose(p);
  return ok;
}

// Black-box: `forge serve` with a 10 s ledger window answers `requests` keyed requests (their
// rows still in the window) and is stopped with `sig`; returns its wait status.
int serve_then_signal(const LedgerDb& db, int requests, int sig) {
  std::string key;
  {
    auto store = open_sqlite_keystore(db.path);
    key = store->create_key({"user", {kScopeInference}, 0, 0, 0}).second;
  }
  auto [pid, port] = start_server(db, {"--ledger-commit-ms", "10000"});
  EXPECT_GT(pid, 0);
  EXPECT_GT(port, 0) << "forge serve did not start";
  if (pid <= 0 || port <= 0) return -1;
  EXPECT_EQ(post_embeddings(port, key, requests), requests);
  EXPECT_LT(rows_on_disk(db.path), requests) << "the 10 s window should still hold rows";
  ::kill(pid, sig);
  int status = 0;
  ::waitpid(pid, &status, 0);
  fs::remove(db.path + ".out");
  return status;
}

// kill -9: every answered request's row is in the ledger after the next open (from the journal).
TEST(LedgerJournal, KillMinus9KeepsEveryAnsweredRow) {
  LedgerDb db;
  serve_then_signal(db, 20, SIGKILL);
  EXPECT_EQ(db.journals().size(), 1u);
  auto store = open_sqlite_keystore(db.path);
  EXPECT_EQ(store->usage_rows(), 20);
  EXPECT_TRUE(db.journals().empty());
}

// SIGTERM: the server commits every row itself and deletes its journal.
TEST(LedgerGroupCommit, SigtermKeepsEveryRow) {
  LedgerDb db;
  const int status = serve_then_signal(db, 25, SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(db.journals().empty());
  EXPECT_EQ(rows_on_disk(db.path), 25);
}

}  // namespace
}  // namespace forge::serve
