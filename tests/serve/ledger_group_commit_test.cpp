// The SQLite ledger's group commit (open_sqlite_keystore with a commit window): rows from
// concurrent writers are all committed, by the writer thread within the window, by readers and
// flush_usage() at once, and by closing the store; `forge serve` keeps every row on SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>
#include <vector>

#include "serve/keystore.h"
#include "test_util.h"

namespace forge::serve {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct TempDb {
  std::string path;
  TempDb() {
    static int n = 0;
    path = (fs::temp_directory_path() /
            ("forge-ledger-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".db"))
               .string();
  }
  ~TempDb() {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(path + suffix);
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
  TempDb db;
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
  TempDb db;
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
  TempDb db;
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
  TempDb db;
  auto store = open_sqlite_keystore(db.path, 0);
  store->record_usage(row(1, 0));
  EXPECT_EQ(rows_on_disk(db.path), 1);
  EXPECT_THROW_MSG(open_sqlite_keystore(db.path, -1), "the ledger commit window must be 0..10000 ms (got -1)");
}

// Black-box: `forge serve` with a long window, N requests, SIGTERM: the ledger has N rows.
TEST(LedgerGroupCommit, SigtermKeepsEveryRow) {
  TempDb db;
  const auto forge = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "forge";
  std::string key;
  {
    auto store = open_sqlite_keystore(db.path);
    key = store->create_key({"user", {kScopeInference}, 0, 0, 0}).second;
  }
  const std::string port_file = db.path + ".out";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::freopen(port_file.c_str(), "w", stdout);
    std::freopen("/dev/null", "w", stderr);
    ::execl(forge.c_str(), "forge", "serve", "--port", "0", "--model", "noop=noop:", "--keys", db.path.c_str(),
            "--ledger-commit-ms", "10000", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int port = 0;
  for (int i = 0; i < 300 && port == 0; ++i) {
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
  ASSERT_GT(port, 0) << "forge serve did not start";
  constexpr int kRequests = 25;
  const std::string cmd = "curl -s -w '%{http_code}\\n' -H 'Authorization: Bearer " + key +
                          "' -H 'Content-Type: application/json' -d '{\"model\":\"noop\",\"input\":\"hi\"}'";
  std::string urls;
  for (int i = 0; i < kRequests; ++i) urls += " -o /dev/null http://127.0.0.1:" + std::to_string(port) + "/v1/embeddings";
  FILE* p = ::popen((cmd + urls).c_str(), "r");
  ASSERT_NE(p, nullptr);
  int ok = 0;
  char line[64];
  while (std::fgets(line, sizeof line, p)) ok += std::string(line) == "200\n";
  ::pclose(p);
  ASSERT_EQ(ok, kRequests);
  EXPECT_LT(rows_on_disk(db.path), kRequests) << "the 10 s window should still hold rows";
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(rows_on_disk(db.path), kRequests);
  fs::remove(port_file);
}

}  // namespace
}  // namespace forge::serve
