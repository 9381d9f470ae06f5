// How `forge serve` names its models: --model / --lora flags and the TOML file's [server] and
// [[models]] tables (serve/model_config.h), with their errors.
#include "serve/model_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "serve/server.h"
#include "test_util.h"

namespace forge::serve {
namespace {

namespace fs = std::filesystem;

fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path dir = fs::temp_directory_path() / ("forge_serve_config_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path p = dir / name;
  std::ofstream(p) << text;
  return p;
}

TEST(ServeModelConfig, ModelAndLoraFlags) {
  std::vector<ModelSpec> specs{parse_model_flag("smol=llm:/m/smol.gguf"), parse_model_flag("mini=/m/minilm")};
  EXPECT_EQ(specs[0].name, "smol");
  EXPECT_EQ(specs[0].kind, "llm");
  EXPECT_EQ(specs[0].path, "/m/smol.gguf");
  EXPECT_EQ(specs[1].kind, "");
  apply_lora_flag("smol=/runs/tuned", specs);
  EXPECT_EQ(specs[0].lora, "/runs/tuned");
  EXPECT_EQ(specs[1].lora, "");
  EXPECT_THROW_MSG(apply_lora_flag("other=/a", specs), "--lora 'other=/a': no model named 'other'");
  EXPECT_THROW_MSG(apply_lora_flag("smol=/b", specs), "model 'smol' already has the adapter '/runs/tuned'");
  EXPECT_THROW_MSG(apply_lora_flag("smol", specs), "--lora 'smol' must be NAME=ADAPTER_DIR");
  EXPECT_THROW_MSG(apply_lora_flag("=x", specs), "must be NAME=ADAPTER_DIR");
  EXPECT_THROW_MSG(parse_model_flag("noequals"), "must be NAME=PATH or NAME=KIND:PATH");
}

TEST(ServeModelConfig, TomlFileWithRelativePathsAndAdapters) {
  const fs::path cfg = write_file("serve.toml", R"(
[server]
port = 9000
slots = 3
http_threads = 2
metrics_require_key = true

[[models]]
name = "smol"
path = "models/smol.gguf"
lora = "runs/tuned"

[[models]]
name = "mini"
kind = "embedding"
path = "/abs/minilm"
)");
  ServeOptions o;
  std::vector<ModelSpec> specs;
  read_serve_config(cfg.string(), o, specs);
  EXPECT_EQ(o.port, 9000);
  EXPECT_EQ(o.engine.slots, 3);
  EXPECT_EQ(o.http_threads, 2);
  EXPECT_TRUE(o.metrics_require_key);
  ASSERT_EQ(specs.size(), 2u);
  EXPECT_EQ(specs[0].path, (cfg.parent_path() / "models/smol.gguf").string());
  EXPECT_EQ(specs[0].lora, (cfg.parent_path() / "runs/tuned").string());
  EXPECT_EQ(specs[1].kind, "embedding");
  EXPECT_EQ(specs[1].path, "/abs/minilm");
  EXPECT_EQ(specs[1].lora, "");
  fs::remove_all(cfg.parent_path());
}

TEST(ServeModelConfig, TomlErrorsNameTheFileAndKey) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"[serve]\nport = 1\n", "unknown section 'serve' (server, models)"},
      {"[server]\nprot = 1\n", "unknown key server.prot"},
      {"[server]\nport = \"80\"\n", "server.port must be a number"},
      {"[server]\nhost = 1\n", "server.host must be a string"},
      {"[[models]]\nname = \"a\"\npath = \"p\"\nadapter = \"x\"\n",
       "unknown key models[0].adapter (name, path, kind, lora)"},
      {"[[models]]\nname = \"a\"\n", "models[0] needs name and path"},
      {"[[models]]\nname = \"a\"\npath = \"p\"\nlora = 3\n", "models[0].lora must be a string"},
      {"models = 3\n", "models must be an array of tables"},
      {"[server\n", "serve_bad.toml"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const fs::path cfg = write_file("serve_bad.toml", c.text);
    ServeOptions o;
    std::vector<ModelSpec> specs;
    EXPECT_THROW_MSG(read_serve_config(cfg.string(), o, specs), c.message);
    fs::remove_all(cfg.parent_path());
  }
}

TEST(ServeModelConfig, LoraOnANonLlmModelIsAnError) {
  Server server(ServeOptions{});
  ModelSpec spec = parse_model_flag("bench=noop:");
  spec.lora = "/some/adapter";
  EXPECT_THROW_MSG(load_model(server, spec),
                   "model 'bench': a LoRA adapter applies to LLMs (Llama family), not to noop");
}

}  // namespace
}  // namespace forge::serve
