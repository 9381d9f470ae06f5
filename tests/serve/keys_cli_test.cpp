// Black-box `forge keys` / `forge usage` (the built binary next to build/tests/).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "cli/cli_util.h"
#include "serve/keystore.h"

namespace forge::serve {
namespace {

using test::CliRun;
using test::run_forge;

TEST(KeysCli, CreateListRotateRevokeUsage) {
  const auto db =
      (std::filesystem::temp_directory_path() / ("forge-keys-cli-" + std::to_string(::getpid()) + ".db")).string();
  CliRun r = run_forge("keys create --db " + db + " --name acme --rpm 60 --monthly-tokens 1000");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  size_t at = r.output.find("fk_");
  ASSERT_NE(at, std::string::npos) << r.output;
  std::string secret = r.output.substr(at, r.output.find('\n', at) - at);
  r = run_forge("keys list --db " + db);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("acme"), std::string::npos);
  EXPECT_EQ(r.output.find(secret), std::string::npos) << "list shows a secret";
  {
    auto store = open_sqlite_keystore(db);
    auto key = store->authenticate(secret);
    ASSERT_TRUE(key.has_value());
    store->record_usage({parse_since("2024-05-02"), key->id, "smol", "/v1/chat/completions", 12, 30, 5.0, 200});
    store->record_usage({parse_since("2024-04-02"), key->id, "smol", "/v1/chat/completions", 1, 1, 5.0, 200});
  }
  r = run_forge("usage --db " + db + " --key acme --since 2024-05-01 --csv");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("2024-05-02T00:00:00.000Z,1,acme,smol,/v1/chat/completions,12,30,5.000,200"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("2024-04-02"), std::string::npos);
  r = run_forge("usage --db " + db);
  EXPECT_NE(r.output.find("acme"), std::string::npos);
  r = run_forge("keys rotate --db " + db + " acme");
  EXPECT_EQ(r.exit_code, 0);
  r = run_forge("keys revoke --db " + db + " acme");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(run_forge("keys list --db " + db).output.find("revoked"), std::string::npos);
  r = run_forge("keys create --db " + db + " --name x --scopes root");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("error: [keys] unknown scope 'root'"), std::string::npos) << r.output;
  r = run_forge("serve --model x=/nonexistent --no-keys");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("model path '/nonexistent' does not exist"), std::string::npos) << r.output;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
}

}  // namespace
}  // namespace forge::serve
