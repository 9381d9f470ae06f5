#include "finetune/lora_data.h"

#include <nlohmann/json.hpp>

#include <fstream>

#include "core/error.h"

namespace forge::finetune {

int64_t LoraExample::response_tokens() const {
  int64_t n = 0;
  for (uint8_t r : is_response) n += r;
  return n;
}

namespace {

std::string string_field(const nlohmann::json& j, const char* key, const std::string& where) {
  FORGE_CHECK(j.contains(key), "[finetune] {}: row needs \"{}\"", where, key);
  FORGE_CHECK(j[key].is_string(), "[finetune] {}: \"{}\" must be a string", where, key);
  return j[key].get<std::string>();
}

}  // namespace

std::vector<llm::ChatMessage> parse_instruction_row(const std::string& line, const std::string& where) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  FORGE_CHECK(!j.is_discarded() && j.is_object(), "[finetune] {}: not a JSON object", where);
  std::vector<llm::ChatMessage> msgs;
  if (j.contains("messages")) {
    FORGE_CHECK(j["messages"].is_array() && !j["messages"].empty(),
                "[finetune] {}: \"messages\" must be a non-empty array", where);
    bool has_assistant = false;
    for (const auto& m : j["messages"]) {
      FORGE_CHECK(m.is_object(), "[finetune] {}: each message must be an object with role and content", where);
      llm::ChatMessage msg{string_field(m, "role", where), string_field(m, "content", where)};
      FORGE_CHECK(msg.role == "system" || msg.role == "user" || msg.role == "assistant",
                  "[finetune] {}: unknown role '{}' (system, user, assistant)", where, msg.role);
      has_assistant = has_assistant || msg.role == "assistant";
      msgs.push_back(std::move(msg));
    }
    FORGE_CHECK(has_assistant, "[finetune] {}: \"messages\" has no assistant turn to learn from", where);
    return msgs;
  }
  FORGE_CHECK(j.contains("instruction") && j.contains("output"),
              "[finetune] {}: row needs \"instruction\" and \"output\" (or \"messages\")", where);
  std::string user = string_field(j, "instruction", where);
  if (j.contains("input") && !j["input"].is_null()) {
    const std::string input = string_field(j, "input", where);
    if (!input.empty()) user += "\n\n" + input;
  }
  msgs.push_back({"user", user});
  msgs.push_back({"assistant", string_field(j, "output", where)});
  return msgs;
}

LoraExample make_lora_example(const std::vector<llm::ChatMessage>& messages, const llm::ChatTemplate& tmpl,
                              const text::Tokenizer& tokenizer, int64_t max_len) {
  // The text is cut into segments at each assistant turn: the prompt up to and including the
  // assistant header (no loss), then the turn's content and end marker (loss). Segments are
  // tokenized separately so the boundary is exact.
  LoraExample ex;
  std::string done;  // rendered text covered so far
  auto append = [&](const std::string& text, bool response) {
    const auto ids = tokenizer.encode(text, false);
    ex.ids.insert(ex.ids.end(), ids.begin(), ids.end());
    ex.is_response.insert(ex.is_response.end(), ids.size(), response ? 1 : 0);
  };
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role != "assistant") continue;
    const std::vector<llm::ChatMessage> before(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i));
    const std::vector<llm::ChatMessage> through(messages.begin(),
                                                messages.begin() + static_cast<std::ptrdiff_t>(i + 1));
    const std::string prompt = tmpl.render(before, true);
    const std::string full = tmpl.render(through, false);
    FORGE_CHECK(prompt.rfind(done, 0) == 0 && full.rfind(prompt, 0) == 0,
                "[finetune] chat template {} does not render conversations incrementally", tmpl.name());
    append(prompt.substr(done.size()), false);
    append(full.substr(prompt.size()), true);
    done = full;
  }
  if (static_cast<int64_t>(ex.ids.size()) > max_len) {
    ex.ids.resize(static_cast<size_t>(max_len));
    ex.is_response.resize(static_cast<size_t>(max_len));
  }
  return ex;
}

std::vector<LoraExample> load_lora_examples(const std::string& path, const llm::ChatTemplate& tmpl,
                                            const text::Tokenizer& tokenizer, int64_t max_len, int64_t* dropped) {
  std::ifstream in(path);
  FORGE_CHECK(in.good(), "[finetune] cannot open data file {}", path);
  std::vector<LoraExample> out;
  int64_t lineno = 0, skipped = 0;
  for (std::string line; std::getline(in, line);) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(lineno);
    LoraExample ex = make_lora_example(parse_instruction_row(line, where), tmpl, tokenizer, max_len);
    // The first token predicts nothing, so a response must start after position 0.
    int64_t useful = 0;
    for (size_t i = 1; i < ex.ids.size(); ++i) useful += ex.is_response[i];
    if (useful == 0) {
      ++skipped;
      continue;
    }
    out.push_back(std::move(ex));
  }
  FORGE_CHECK(!out.empty(), "[finetune] {}: no usable rows ({} dropped: no response tokens within max_len {})", path,
              skipped, max_len);
  if (dropped != nullptr) *dropped = skipped;
  return out;
}

}  // namespace forge::finetune
