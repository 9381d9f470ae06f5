#pragma once
// A throwaway PostgreSQL server on loopback for the key-store tests: `initdb` into a temp dir,
// `pg_ctl start` on a free port (as the `postgres` user when the tests run as root: postgres
// refuses root), one cluster per test binary, started on first use and stopped and deleted by a
// gtest Environment at the end. Clusters left by a crashed run (their test process is gone) are
// stopped and deleted on the next start. Each test gets its own database (fresh_database()).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace forge::test {

class PgServer {
 public:
  static constexpr const char* kUser = "forge";
  static constexpr const char* kPassword = "pg-test-Secret-42";

  // The shared server; starts it on first use. Check error() before using it.
  static PgServer& get() {
    static PgServer server;
    return server;
  }
  // Why the server could not start ("" when it runs).
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // postgresql://forge:PASSWORD@127.0.0.1:PORT/db
  std::string url(const std::string& db, const std::string& password = kPassword) const {
    return "postgresql://" + std::string(kUser) + ":" + password + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
  }
  // A new empty database; its URL.
  std::string fresh_database() {
    static std::atomic<int> counter{0};
    std::string db = "forge_t" + std::to_string(counter++);
    std::string out;
    EXPECT_EQ(psql("postgres", "CREATE DATABASE " + db, &out), 0) << out;
    return url(db);
  }
  // Runs SQL through psql as the test user; returns psql's exit code, output in *out.
  int psql(const std::string& db, const std::string& sql, std::string* out = nullptr) const {
    std::string file = dir_ + "/psql.out";
    std::string cmd =
        bin_ + "/psql -X -q -t -A -v ON_ERROR_STOP=1 \"" + url(db) + "\" -c \"" + sql + "\" > " + file + " 2>&1";
    int rc = run(cmd);
    if (out) *out = test::read_file(file);
    return rc;
  }
  void stop() {
    if (!started_) return;
    started_ = false;
    run(as_postgres() + bin_ + "/pg_ctl -D " + dir_ + "/data -m immediate -w stop > /dev/null 2>&1");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

 private:
  PgServer() { start(); }

  static int run(const std::string& cmd) {
    int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  static bool root() { return ::geteuid() == 0; }
  static std::string as_postgres() { return root() ? "runuser -u postgres -- " : ""; }
  static int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    int port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
  }
  static std::string find_bin() {
    if (const char* env = std::getenv("FORGE_PG_BIN")) return env;
    std::string best;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/lib/postgresql", ec)) {
      if (std::filesystem::exists(e.path() / "bin" / "initdb") && e.path().string() > best) best = e.path().string();
    }
    return best.empty() ? "" : best + "/bin";
  }
  // Stops and deletes clusters whose test process died without cleaning up.
  void remove_stale(const std::filesystem::path& tmp) const {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(tmp, ec)) {
      std::string name = e.path().filename().string();
      if (name.rfind("forge-pg-", 0) != 0) continue;
      pid_t pid = static_cast<pid_t>(std::atoi(name.c_str() + 9));
      if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
      run(as_postgres() + bin_ + "/pg_ctl -D " + e.path().string() + "/data -m immediate -w stop > /dev/null 2>&1");
      std::filesystem::remove_all(e.path(), ec);
    }
  }

  void start() {
    bin_ = find_bin();
    if (bin_.empty() || !std::filesystem::exists(bin_ + "/pg_ctl")) {
      error_ =
          "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin: install them with "
          "`bash scripts/setup.sh --test` (Debian package postgresql)";
      return;
    }
    const auto tmp = std::filesystem::temp_directory_path();
    remove_stale(tmp);
    dir_ = (tmp / ("forge-pg-" + std::to_string(::getpid()))).string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (root()) {
      passwd* pw = ::getpwnam("postgres");
      if (pw == nullptr) {
        error_ = "running as root but there is no `postgres` user to run the server: `bash scripts/setup.sh --test`";
        return;
      }
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        error_ = "cannot chown " + dir_ + " to postgres";
        return;
      }
    }
    { std::ofstream(dir_ + "/pwfile") << kPassword << "\n"; }
    if (root()) run("chown postgres " + dir_ + "/pwfile");
    // Passwords over TCP (so the auth-failure path is real), no fsync: it is thrown away.
    std::string init = as_postgres() + bin_ + "/initdb -D " + dir_ + "/data -U " + kUser + " --pwfile=" + dir_ +
                       "/pwfile --auth-local=trust --auth-host=scram-sha-256 --no-sync -E UTF8 --locale=C > " + dir_ +
                       "/initdb.log 2>&1";
    if (run(init) != 0) {
      error_ = "initdb failed: " + test::read_file(dir_ + "/initdb.log");
      return;
    }
    for (int attempt = 0; attempt < 3 && !started_; ++attempt) {
      port_ = free_port();
      std::string start = as_postgres() + bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 30 " +
                          "-o \"-p " + std::to_string(port_) + " -k " + dir_ +
                          " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
                          " -c synchronous_commit=off\" start > /dev/null 2>&1";
      started_ = run(start) == 0;
    }
    if (!started_) error_ = "pg_ctl start failed: " + test::read_file(dir_ + "/server.log");
  }

  std::string bin_, dir_, error_;
  int port_ = 0;
  bool started_ = false;
};

// Stops the shared server after the last test (also when tests failed).
class PgEnvironment : public ::testing::Environment {
 public:
  void TearDown() override {
    if (used) PgServer::get().stop();
  }
  static inline bool used = false;
};
inline ::testing::Environment* const pg_environment = ::testing::AddGlobalTestEnvironment(new PgEnvironment);

// The shared server (started on first use); check error() (tests FAIL when it is not empty).
inline PgServer& pg_server() {
  PgEnvironment::used = true;
  return PgServer::get();
}

}  // namespace forge::test
