// The web playground end to end: `forge serve` with a real language model (SmolLM2-135M, from
// scripts/fetch_models.sh) and a Forge-trained classifier, driven in headless Chromium by
// tools/web/playground_check.py (selenium from the test venv, Debian's chromium-driver).
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "cli/cli_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;

int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST(Playground, ChatClassifyAndUsageInHeadlessChromium) {
  const std::string python = FORGE_TEST_PYTHON;
  const std::string gguf = std::string(FORGE_TEST_MODELS_DIR) + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
  ASSERT_TRUE(fs::exists(python) && fs::exists(gguf) && fs::exists("/usr/bin/chromedriver"))
      << "needs the test venv, the pretrained models and chromium-driver: bash scripts/setup.sh --test";
  const fs::path dir = fs::temp_directory_path() / ("forge_playground_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string src = fs::path(FORGE_TEST_DATA_DIR).parent_path().string();

  auto run = test::run_forge("train " + src + "/examples/breast_cancer/config.toml --epochs 5 --quiet --out " +
                             (dir / "bc").string());
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string db = (dir / "keys.db").string();
  run = test::run_forge("keys --db " + db + " create --name browser");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const std::string secret = run.output.substr(run.output.rfind("fk_"), run.output.find_last_not_of("\n\r ") + 1 -
                                                                        run.output.rfind("fk_"));

  const int port = free_port();
  const pid_t server = ::fork();
  ASSERT_GE(server, 0);
  if (server == 0) {
    const std::string log = (dir / "serve.log").string();
    std::freopen(log.c_str(), "w", stdout);
    std::freopen(log.c_str(), "a", stderr);
    const std::string bc = "bc=" + (dir / "bc" / "model").string(), smol = "smol=" + gguf,
                      port_s = std::to_string(port), forge = test::forge_binary();
    ::execl(forge.c_str(), forge.c_str(), "serve", "--model", bc.c_str(), "--model", smol.c_str(), "--keys",
            db.c_str(), "--port", port_s.c_str(), "--slots", "1", static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  httplib::Client client("127.0.0.1", port);
  bool up = false;
  for (int i = 0; i < 600 && !up; ++i) {
    auto res = client.Get("/health");
    up = res && res->status == 200;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (up) {
    const std::string command = python + " " + src + "/tools/web/playground_check.py --url http://127.0.0.1:" +
                                std::to_string(port) + " --key " + secret +
                                " --chat-model smol --predict-model bc --row " +
                                "17.99,10.38,122.8,1001,0.1184,0.2776,0.3001,0.1471,0.2419,0.07871,1.095,0.9053,8.589,"
                                "153.4,0.006399,0.04904,0.05373,0.01587,0.03003,0.006193,25.38,17.33,184.6,2019,0.1622,"
                                "0.6656,0.7119,0.2654,0.4601,0.1189 2>&1";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n = 0;
    while (pipe && (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
    const int status = pipe ? ::pclose(pipe) : -1;
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
    EXPECT_NE(out.find("classified as: malignant"), std::string::npos) << out;
  }
  ::kill(server, SIGTERM);
  int status = 0;
  ::waitpid(server, &status, 0);
  EXPECT_TRUE(up) << "forge serve did not answer /health";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "forge serve did not shut down cleanly on SIGTERM";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace forge
