// n > 1 choices on /v1/chat/completions and /v1/completions (plain and streamed), and the
// checkpoint's own chat template, over an in-process server without keys.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "llm/chat_template.h"
#include "llm/load.h"
#include "serve/fake_lm.h"
#include "serve/server.h"

namespace forge::serve {
namespace {

using nlohmann::json;

struct LocalServer {
  Server server;
  int port = 0;
  std::thread thread;
  LocalServer(const std::map<std::string, llm::CausalLMPtr>& models, ServeOptions o) : server(with_port0(o)) {
    for (const auto& [name, m] : models) server.add_llm(name, m);
    port = server.bind();
    thread = std::thread([this] { server.run(); });
  }
  ~LocalServer() {
    server.stop();
    thread.join();
  }
  static ServeOptions with_port0(ServeOptions o) {
    o.port = 0;
    o.keep_alive_timeout_s = 1;
    return o;
  }
  httplib::Result post(const std::string& path, const json& body) const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(120, 0);
    return c.Post(path.c_str(), body.dump(), "application/json");
  }
};

// The JSON chunks of an SSE body (comments skipped, [DONE] required last).
std::vector<json> sse_chunks(const std::string& body) {
  std::vector<json> out;
  size_t pos = 0;
  bool done = false;
  while (pos < body.size()) {
    const size_t end = body.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated event";
    if (end == std::string::npos) break;
    const std::string ev = body.substr(pos, end - pos);
    pos = end + 2;
    if (ev.rfind(":", 0) == 0) continue;
    EXPECT_FALSE(done) << "data after [DONE]";
    if (ev == "data: [DONE]") {
      done = true;
      continue;
    }
    out.push_back(json::parse(ev.substr(6)));
  }
  EXPECT_TRUE(done);
  return out;
}

json fake_chat(int n, int max_tokens) {
  return {{"model", "fake"},
          {"messages", {{{"role", "user"}, {"content", "hi"}}}},
          {"max_tokens", max_tokens},
          {"temperature", 0},
          {"n", n}};
}

TEST(ServeChoices, SeveralChoicesPlain) {
  LocalServer s({{"fake", std::make_shared<test::FakeLM>()}}, {});
  auto r = s.post("/v1/chat/completions", fake_chat(3, 4));
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = json::parse(r->body);
  ASSERT_EQ(j["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(j["choices"][i]["index"], i);
    EXPECT_EQ(j["choices"][i]["message"]["content"], "abcd");
    EXPECT_EQ(j["choices"][i]["finish_reason"], "length");
  }
  // The prompt counts once, the completions of every choice add up.
  const int64_t prompt = j["usage"]["prompt_tokens"];
  EXPECT_EQ(j["usage"]["completion_tokens"], 12);
  EXPECT_EQ(j["usage"]["total_tokens"], prompt + 12);

  r = s.post("/v1/completions", {{"model", "fake"}, {"prompt", "x"}, {"max_tokens", 2}, {"temperature", 0}, {"n", 2}});
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  ASSERT_EQ(j["choices"].size(), 2u);
  EXPECT_EQ(j["choices"][1]["index"], 1);
  EXPECT_EQ(j["choices"][1]["text"], "yz");
  EXPECT_EQ(j["usage"]["completion_tokens"], 4);
}

TEST(ServeChoices, SeveralChoicesStreamedCarryTheirIndex) {
  ServeOptions o;
  o.engine.slots = 2;  // the third choice waits for a free slot
  LocalServer s({{"fake", std::make_shared<test::FakeLM>()}}, o);
  json body = fake_chat(3, 5);
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto r = s.post("/v1/chat/completions", body);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto chunks = sse_chunks(r->body);
  std::map<int, std::string> text;
  std::map<int, int> finishes, roles;
  for (const auto& c : chunks) {
    if (c["choices"].empty()) continue;
    ASSERT_EQ(c["choices"].size(), 1u);
    const auto& ch = c["choices"][0];
    const int i = ch["index"];
    if (ch["delta"].contains("role")) ++roles[i];
    if (ch["delta"].contains("content")) text[i] += ch["delta"]["content"].get<std::string>();
    if (!ch["finish_reason"].is_null()) {
      EXPECT_EQ(ch["finish_reason"], "length");
      ++finishes[i];
    }
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(text[i], "abcde") << "choice " << i;
    EXPECT_EQ(finishes[i], 1) << "choice " << i;
    EXPECT_EQ(roles[i], 1) << "choice " << i;
  }
  EXPECT_EQ(text.size(), 3u);
  ASSERT_TRUE(chunks.back()["choices"].empty());
  EXPECT_EQ(chunks.back()["usage"]["completion_tokens"], 15);
}

TEST(ServeChoices, BadN) {
  LocalServer s({{"fake", std::make_shared<test::FakeLM>()}}, {});
  for (const json& n : {json(0), json(17), json("2"), json(1.5)}) {
    json body = fake_chat(1, 2);
    body["n"] = n;
    auto r = s.post("/v1/chat/completions", body);
    ASSERT_EQ(r->status, 400) << n.dump();
    EXPECT_EQ(json::parse(r->body)["error"]["param"], "n") << r->body;
  }
}

// A fake model whose checkpoint carries a chat template source.
class TemplatedLM : public test::FakeLM {
 public:
  explicit TemplatedLM(std::string source) : source_(std::move(source)) {}
  std::optional<std::string> chat_template() const override { return source_; }

 private:
  std::string source_;
};

TEST(ServeChoices, ChatUsesTheCheckpointsOwnTemplate) {
  const std::string llama3 =
      "{% for message in messages %}<|start_header_id|>{{ message['role'] }}<|end_header_id|>\n\n"
      "{{ message['content'] }}<|eot_id|>{% endfor %}";
  LocalServer s({{"llama3", std::make_shared<TemplatedLM>(llama3)},
                 {"unknown", std::make_shared<TemplatedLM>("{{ messages | tojson }}")},
                 {"plain", std::make_shared<test::FakeLM>()}},
                {});
  const std::vector<llm::ChatMessage> messages = {{"system", "be brief"}, {"user", "hi"}};
  auto ask = [&](const std::string& model) {
    json body = {{"model", model},
                 {"messages", {{{"role", "system"}, {"content", "be brief"}}, {{"role", "user"}, {"content", "hi"}}}},
                 {"max_tokens", 1},
                 {"temperature", 0}};
    auto r = s.post("/v1/chat/completions", body);
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body)["usage"]["prompt_tokens"].get<int64_t>();
  };
  // The byte tokenizer makes prompt_tokens the rendered prompt's length in bytes.
  const auto llama3_prompt = llm::ChatTemplate(llm::ChatFormat::kLlama3).render(messages, true);
  const auto chatml_prompt = llm::ChatTemplate(llm::ChatFormat::kChatML).render(messages, true);
  ASSERT_NE(llama3_prompt.size(), chatml_prompt.size());
  EXPECT_EQ(ask("llama3"), static_cast<int64_t>(llama3_prompt.size()));
  EXPECT_EQ(ask("unknown"), static_cast<int64_t>(chatml_prompt.size()));  // unknown format: ChatML
  EXPECT_EQ(ask("plain"), static_cast<int64_t>(chatml_prompt.size()));    // no template: ChatML
  // A conversation the template cannot render is a 400 naming messages.
  json bad = {{"model", "llama3"},
              {"messages", {{{"role", "user"}, {"content", "hi"}}, {{"role", "system"}, {"content", "late"}}}}};
  auto r = s.post("/v1/chat/completions", bad);
  ASSERT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "messages");
}

// Choice i samples with seed + i: with one slot the choices run one after the other, exactly
// as separate n=1 requests with seeds 11, 12, 13 do.
TEST(ServeChoices, SmolLM2ChoiceIUsesSeedPlusI) {
  const std::string gguf = std::string(FORGE_TEST_MODELS_DIR) + "/smollm2-135m-instruct/SmolLM2-135M-Instruct.Q4_1.gguf";
  ASSERT_TRUE(std::filesystem::exists(gguf)) << "pretrained test checkpoints missing: run bash scripts/setup.sh --test";
  ServeOptions o;
  o.engine.slots = 1;
  o.engine.slot_tokens = 256;
  LocalServer s({{"smol", llm::load_causal_lm(gguf)}}, o);
  json body = {{"model", "smol"},
               {"messages", {{{"role", "user"}, {"content", "Write a word."}}}},
               {"max_tokens", 6},
               {"temperature", 1.0},
               {"seed", 11},
               {"n", 3}};
  auto r = s.post("/v1/chat/completions", body);
  ASSERT_EQ(r->status, 200) << r->body;
  const auto j = json::parse(r->body);
  ASSERT_EQ(j["choices"].size(), 3u);
  std::set<std::string> distinct;
  int64_t completion = 0;
  for (int i = 0; i < 3; ++i) {
    json one = body;
    one["n"] = 1;
    one["seed"] = 11 + i;
    auto ri = s.post("/v1/chat/completions", one);
    ASSERT_EQ(ri->status, 200) << ri->body;
    const auto ji = json::parse(ri->body);
    EXPECT_EQ(j["choices"][i]["message"]["content"], ji["choices"][0]["message"]["content"]) << "choice " << i;
    distinct.insert(j["choices"][i]["message"]["content"].get<std::string>());
    completion += ji["usage"]["completion_tokens"].get<int64_t>();
  }
  EXPECT_EQ(j["usage"]["completion_tokens"], completion);
  EXPECT_GE(distinct.size(), 2u) << "different seeds should sample different replies";
}

}  // namespace
}  // namespace forge::serve
