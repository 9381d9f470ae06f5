// The official openai Python client against `forge serve` (the built binary, started here) with a
// real tiny Forge GPT (random weights, character tokenizer); then SIGTERM must stop it cleanly
// with every answered request in the ledger.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <thread>

#include "models/gpt.h"
#include "serve/keystore.h"
#include "test_util.h"
#include "text/char_tokenizer.h"

namespace forge::serve {
namespace {

namespace fs = std::filesystem;

TEST(ServeOpenAI, OfficialClientAgainstForgeServe) {
  const fs::path dir = fs::temp_directory_path() / ("forge-openai-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  // A tiny GPT whose vocabulary covers the ChatML markup.
  auto tok = text::CharTokenizer::fit("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ<|>_\n.,!?");
  models::GptConfig cfg;
  cfg.vocab_size = tok->vocab_size();
  cfg.context = 128;
  cfg.n_layer = 2;
  cfg.n_head = 2;
  cfg.d_model = 32;
  models::Gpt gpt(cfg, 7);
  models::save_gpt_dir((dir / "gpt").string(), gpt, *tok);
  std::string key;
  {
    auto store = open_sqlite_keystore((dir / "keys.db").string());
    key = store->create_key({"py", {kScopeInference}, 0, 0, 0}).second;
  }

  const auto forge = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "forge";
  const std::string log = (dir / "serve.log").string();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    freopen(log.c_str(), "w", stdout);
    dup2(fileno(stdout), 2);
    std::string model = "gpt=" + (dir / "gpt").string();
    std::string keys = (dir / "keys.db").string();
    execl(forge.c_str(), "forge", "serve", "--port", "0", "--keys", keys.c_str(), "--model", model.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  int port = 0;
  std::smatch m;
  for (int i = 0; i < 300 && port == 0; ++i) {
    std::string text = test::read_file(log);
    static const std::regex re("listening on http://127.0.0.1:([0-9]+)");
    if (std::regex_search(text, m, re)) port = std::stoi(m[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (port == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    FAIL() << "forge serve did not start:\n" << test::read_file(log);
  }

  const std::string script = std::string(FORGE_TEST_DATA_DIR) + "/serve/openai_client_check.py";
  const std::string out = (dir / "py.log").string();
  const std::string command = std::string(FORGE_TEST_PYTHON) + " " + script +
                              " http://127.0.0.1:" + std::to_string(port) + "/v1 " + key + " gpt 128 > " + out +
                              " 2>&1";
  int rc = std::system(command.c_str());
  EXPECT_EQ(rc, 0) << test::read_file(out) << "\n(needs the openai package: bash scripts/setup.sh --test)";

  ASSERT_EQ(kill(pid, SIGTERM), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_file(log);
  EXPECT_NE(test::read_file(log).find("forge serve: stopped"), std::string::npos) << test::read_file(log);
  // Every model request the client made is in the ledger (2 chat + 2 chat with n = 2 + 2
  // completions + 3 errors that reached a model handler: unknown model, over-long prompt, bad
  // temperature).
  auto store = open_sqlite_keystore((dir / "keys.db").string());
  EXPECT_EQ(store->usage_rows(), 9) << test::read_file(out);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace forge::serve
