// The server over the real pretrained test checkpoints (scripts/fetch_models.sh): SmolLM2-135M
// Instruct (GGUF Q4_1) for chat, plain and streamed, and all-MiniLM-L6-v2 for embeddings.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <thread>

#include "finetune/lora_test_util.h"
#include "llm/load.h"
#include "models/bert.h"
#include "models/lora.h"
#include "serve/model_config.h"
#include "serve/server.h"

namespace forge::serve {
namespace {

using nlohmann::json;

TEST(ServePretrained, SmolLM2ChatAndMiniLMEmbeddings) {
  const std::string dir = FORGE_TEST_MODELS_DIR;
  const std::string gguf = dir + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
  const std::string minilm = dir + "/all-minilm-l6-v2";
  ASSERT_TRUE(std::filesystem::exists(gguf) && std::filesystem::exists(minilm))
      << "pretrained test checkpoints missing: run bash scripts/setup.sh --test (scripts/fetch_models.sh)";
  ServeOptions o;
  o.port = 0;
  o.engine.slot_tokens = 512;
  o.engine.slots = 2;
  Server server(o);
  server.add_llm("smol", llm::load_causal_lm(gguf));
  server.add_embedding("minilm", models::load_bert(minilm));
  int port = server.bind();
  std::thread t([&] { server.run(); });
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  // The server renders SmolLM2's own template; without a system message it inserts the
  // template's default one ("You are a helpful AI assistant named SmolLM..."), after which this
  // small model rambles, so the test gives its own.
  json body = {{"model", "smol"},
               {"messages",
                {{{"role", "system"}, {"content", "You are a helpful assistant."}},
                 {{"role", "user"}, {"content", "What is the capital of France?"}}}},
               {"max_tokens", 12},
               {"temperature", 0}};
  auto r = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  std::string text = j["choices"][0]["message"]["content"];
  EXPECT_NE(text.find("Paris"), std::string::npos) << text;
  // Streamed greedy run: the same text.
  body["stream"] = true;
  r = c.Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_EQ(r->status, 200);
  std::string streamed;
  size_t pos = 0;
  while ((pos = r->body.find("data: {", pos)) != std::string::npos) {
    size_t end = r->body.find("\n\n", pos);
    auto chunk = json::parse(r->body.substr(pos + 6, end - pos - 6));
    if (!chunk["choices"].empty() && chunk["choices"][0]["delta"].contains("content")) {
      streamed += chunk["choices"][0]["delta"]["content"].get<std::string>();
    }
    pos = end;
  }
  EXPECT_EQ(streamed, text);
  EXPECT_NE(r->body.find("data: [DONE]\n\n"), std::string::npos);
  // Embeddings: unit vectors of dimension 384.
  r = c.Post("/v1/embeddings", json{{"model", "minilm"}, {"input", {"hello world", "bonjour"}}}.dump(),
             "application/json");
  ASSERT_EQ(r->status, 200) << r->body;
  auto e = json::parse(r->body)["data"][0]["embedding"].get<std::vector<double>>();
  ASSERT_EQ(e.size(), 384u);
  double norm = 0;
  for (double x : e) norm += x * x;
  EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-4);
  server.stop();
  t.join();
}

// --lora / `lora = ...`: the adapter is merged at load, so the served model answers as
// load_llama_with_lora's model does, and unlike the base.
TEST(ServePretrained, LoraAdapterMergedAtLoad) {
  const std::string gguf =
      std::string(FORGE_TEST_MODELS_DIR) + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
  ASSERT_TRUE(std::filesystem::exists(gguf)) << "run bash scripts/setup.sh --test (scripts/fetch_models.sh)";
  const auto adapter_dir = std::filesystem::temp_directory_path() / ("forge_serve_lora_" + std::to_string(::getpid()));
  std::filesystem::remove_all(adapter_dir);
  const auto base = models::open_llama_gguf(gguf);
  auto adapter = test::random_adapter(base, {"q_proj", "v_proj", "down_proj"});
  adapter.base_model = "SmolLM2-135M-Instruct";
  models::save_lora_adapter(adapter_dir.string(), adapter);

  ServeOptions o;
  o.port = 0;
  o.engine.slot_tokens = 256;
  Server server(o);
  server.add_llm("base", llm::load_causal_lm(gguf));
  server.add_llm("direct", models::load_llama_with_lora(gguf, adapter_dir.string()));
  std::vector<ModelSpec> specs{parse_model_flag("tuned=" + gguf)};
  apply_lora_flag("tuned=" + adapter_dir.string(), specs);
  load_model(server, specs[0]);
  const int port = server.bind();
  std::thread t([&] { server.run(); });
  httplib::Client c("127.0.0.1", port);
  c.set_read_timeout(120, 0);
  auto complete = [&](const std::string& model) {
    auto r = c.Post(
        "/v1/completions",
        json{{"model", model}, {"prompt", "The capital of France is"}, {"max_tokens", 8}, {"temperature", 0}}.dump(),
        "application/json");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    return r && r->status == 200 ? json::parse(r->body)["choices"][0]["text"].get<std::string>() : std::string();
  };
  const std::string tuned = complete("tuned"), direct = complete("direct"), plain = complete("base");
  EXPECT_FALSE(plain.empty());
  EXPECT_EQ(tuned, direct) << "base: " << plain;
  EXPECT_NE(tuned, plain);
  server.stop();
  t.join();
  std::filesystem::remove_all(adapter_dir);
}

}  // namespace
}  // namespace forge::serve
