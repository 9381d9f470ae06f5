// Black-box `forge keys` / `forge usage` (the built binary next to build/tests/).
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>

#include "serve/keystore.h"

namespace forge::serve {
namespace {

struct CliRun {
  int rc;
  std::string out;
};

CliRun forge_cli(const std::string& args) {
  const auto forge = std::filesystem::read_symlink("/proc/self/exe").parent_path().parent_path() / "forge";
  FILE* p = popen((forge.string() + " " + args + " 2>&1").c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WEXITSTATUS(status), out};
}

TEST(KeysCli, CreateListRotateRevokeUsage) {
  const auto db =
      (std::filesystem::temp_directory_path() / ("forge-keys-cli-" + std::to_string(::getpid()) + ".db")).string();
  CliRun r = forge_cli("keys create --db " + db + " --name acme --rpm 60 --monthly-tokens 1000");
  ASSERT_EQ(r.rc, 0) << r.out;
  size_t at = r.out.find("fk_");
  ASSERT_NE(at, std::string::npos) << r.out;
  std::string secret = r.out.substr(at, r.out.find('\n', at) - at);
  r = forge_cli("keys list --db " + db);
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("acme"), std::string::npos);
  EXPECT_EQ(r.out.find(secret), std::string::npos) << "list shows a secret";
  {
    auto store = open_sqlite_keystore(db);
    auto key = store->authenticate(secret);
    ASSERT_TRUE(key.has_value());
    store->record_usage({parse_since("2024-05-02"), key->id, "smol", "/v1/chat/completions", 12, 30, 5.0, 200});
    store->record_usage({parse_since("2024-04-02"), key->id, "smol", "/v1/chat/completions", 1, 1, 5.0, 200});
  }
  r = forge_cli("usage --db " + db + " --key acme --since 2024-05-01 --csv");
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("2024-05-02T00:00:00.000Z,1,acme,smol,/v1/chat/completions,12,30,5.000,200"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("2024-04-02"), std::string::npos);
  r = forge_cli("usage --db " + db);
  EXPECT_NE(r.out.find("acme"), std::string::npos);
  r = forge_cli("keys rotate --db " + db + " acme");
  EXPECT_EQ(r.rc, 0);
  r = forge_cli("keys revoke --db " + db + " acme");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(forge_cli("keys list --db " + db).out.find("revoked"), std::string::npos);
  r = forge_cli("keys create --db " + db + " --name x --scopes root");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("error: [keys] unknown scope 'root'"), std::string::npos) << r.out;
  r = forge_cli("serve --model x=/nonexistent --no-keys");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("model path '/nonexistent' does not exist"), std::string::npos) << r.out;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
}

}  // namespace
}  // namespace forge::serve
