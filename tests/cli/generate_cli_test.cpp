// Black-box test of `forge train` on a language-model config and `forge generate` on its run.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_util.h"
#include "test_util.h"

namespace forge {
namespace {

namespace fs = std::filesystem;
using test::run_forge;

TEST(CliGenerate, TrainThenGenerate) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("forge_cli_gen_{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    std::ofstream f(dir / "c.txt");
    for (int i = 0; i < 50; ++i) f << "abab cdcd abab cdcd\n";
    std::ofstream cfg(dir / "lm.toml");
    cfg << "name = \"lm\"\n[data]\nfiles = [\"c.txt\"]\n[model]\ntype = \"gpt\"\nn_layer = 1\nn_head = 1\n"
           "d_model = 16\ncontext = 32\n[train]\nepochs = 1\nsteps_per_epoch = 20\nbatch_size = 4\nlr = 0.01\n";
  }
  auto [rc, out] =
      run_forge(fmt::format("train {} --out {} --quiet", (dir / "lm.toml").string(), (dir / "run").string()));
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("val_perplexity"), std::string::npos) << out;

  auto [rc2, gen] =
      run_forge(fmt::format("generate {} --prompt ab --max-tokens 12 --seed 1 --stats", (dir / "run").string()));
  ASSERT_EQ(rc2, 0) << gen;
  EXPECT_EQ(gen.rfind("ab", 0), 0u) << gen;  // the prompt is echoed first
  EXPECT_NE(gen.find("12 new tokens"), std::string::npos) << gen;
  auto [rc3, same] =
      run_forge(fmt::format("generate {} --prompt ab --max-tokens 12 --seed 1 --stats", (dir / "run").string()));
  EXPECT_EQ(gen.substr(0, gen.find('\n')), same.substr(0, same.find('\n')));  // seeded

  auto [rc4, greedy] = run_forge(
      fmt::format("generate {}/model --prompt ab --max-tokens 12 -t 0 --stop d --no-prompt", (dir / "run").string()));
  ASSERT_EQ(rc4, 0) << greedy;
  EXPECT_EQ(greedy.find('d'), std::string::npos) << greedy;

  auto [rc5, err] = run_forge(fmt::format("generate {} --prompt zzz", (dir / "run").string()));
  EXPECT_NE(rc5, 0);
  std::string long_prompt(40, 'a');
  auto [rc6, err2] = run_forge(fmt::format("generate {} --prompt {}", (dir / "run").string(), long_prompt));
  EXPECT_NE(rc6, 0);
  EXPECT_NE(err2.find("the prompt has 40 tokens but the model's context holds 32"), std::string::npos) << err2;
  auto [rc7, err3] = run_forge(fmt::format("generate {} --prompt a", dir.string()));
  EXPECT_NE(rc7, 0);
  EXPECT_NE(err3.find("not a language model"), std::string::npos) << err3;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace forge
