#include "llm/chat_template.h"

#include "core/error.h"

namespace forge::llm {

namespace {

bool has(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

// SmolLM2-style ChatML templates insert a system turn when the conversation has none:
//   {% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nTEXT<|im_end|>\n' }}
// The TEXT literal is taken from the source (Jinja string escapes \n and \' undone).
std::optional<std::string> chatml_default_system(const std::string& src) {
  if (!has(src.c_str(), "!= 'system'") && !has(src.c_str(), "!= \"system\"")) return std::nullopt;
  const std::string open = "<|im_start|>system";
  const auto at = src.find(open);
  if (at == std::string::npos) return std::nullopt;
  auto begin = at + open.size();
  if (src.compare(begin, 1, "\n") == 0) {
    begin += 1;
  } else if (src.compare(begin, 2, "\\n") == 0) {
    begin += 2;
  } else {
    return std::nullopt;
  }
  const auto end = src.find("<|im_end|>", begin);
  if (end == std::string::npos) return std::nullopt;
  std::string raw = src.substr(begin, end - begin);
  if (has(raw, "{{") || has(raw, "{%") || has(raw, "'") || has(raw, "+")) return std::nullopt;  // not a literal
  std::string out;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) {
      const char c = raw[++i];
      out += c == 'n' ? '\n' : c;
    } else {
      out += raw[i];
    }
  }
  return out;
}

}  // namespace

ChatTemplate::ChatTemplate(ChatFormat format, std::optional<std::string> default_system)
    : format_(format), default_system_(std::move(default_system)) {}

ChatTemplate ChatTemplate::detect(const std::string& src) {
  if (has(src, "<|im_start|>")) return ChatTemplate(ChatFormat::kChatML, chatml_default_system(src));
  if (has(src, "<|start_header_id|>")) return ChatTemplate(ChatFormat::kLlama3);
  if (has(src, "<|user|>") && has(src, "<|assistant|>")) return ChatTemplate(ChatFormat::kZephyr);
  if (has(src, "[INST]")) return ChatTemplate(ChatFormat::kMistral);
  FORGE_CHECK(false,
              "[chat_template] unknown chat template format (looked for ChatML <|im_start|>, Llama-3 "
              "<|start_header_id|>, Zephyr <|user|>, Mistral [INST]); template starts with '{}'",
              src.substr(0, 80));
  return ChatTemplate(ChatFormat::kChatML);
}

ChatTemplate ChatTemplate::from_name(const std::string& name) {
  if (name == "chatml") return ChatTemplate(ChatFormat::kChatML);
  if (name == "llama3") return ChatTemplate(ChatFormat::kLlama3);
  if (name == "zephyr") return ChatTemplate(ChatFormat::kZephyr);
  if (name == "mistral") return ChatTemplate(ChatFormat::kMistral);
  FORGE_CHECK(false, "[chat_template] unknown template name '{}' (known: chatml, llama3, zephyr, mistral)", name);
  return ChatTemplate(ChatFormat::kChatML);
}

std::string ChatTemplate::name() const {
  switch (format_) {
    case ChatFormat::kChatML: return "chatml";
    case ChatFormat::kLlama3: return "llama3";
    case ChatFormat::kZephyr: return "zephyr";
    case ChatFormat::kMistral: return "mistral";
  }
  return "?";
}

std::vector<std::string> ChatTemplate::stop_strings() const {
  switch (format_) {
    case ChatFormat::kChatML: return {"<|im_end|>"};
    case ChatFormat::kLlama3: return {"<|eot_id|>"};
    case ChatFormat::kZephyr:
    case ChatFormat::kMistral: return {"</s>"};
  }
  return {};
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt) const {
  for (size_t i = 0; i < messages.size(); ++i) {
    const auto& r = messages[i].role;
    FORGE_CHECK(r == "user" || r == "assistant" || r == "system",
                "[chat_template] message {} has role '{}' (expected system, user or assistant)", i, r);
    FORGE_CHECK(r != "system" || i == 0, "[chat_template] message {}: a system message may only come first", i);
  }
  std::string out;
  const bool has_system = !messages.empty() && messages[0].role == "system";
  switch (format_) {
    case ChatFormat::kChatML:
      if (!has_system && default_system_ && !messages.empty()) {
        out += "<|im_start|>system\n" + *default_system_ + "<|im_end|>\n";
      }
      for (const auto& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
      if (add_generation_prompt) out += "<|im_start|>assistant\n";
      break;
    case ChatFormat::kLlama3:
      out += "<|begin_of_text|>";
      for (const auto& m : messages) out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
      break;
    case ChatFormat::kZephyr:
      for (const auto& m : messages) out += "<|" + m.role + "|>\n" + m.content + "</s>\n";
      if (add_generation_prompt) out += "<|assistant|>\n";
      break;
    case ChatFormat::kMistral: {
      out += "<s>";
      std::string system = has_system ? messages[0].content : "";
      for (size_t i = has_system ? 1 : 0; i < messages.size(); ++i) {
        const auto& m = messages[i];
        if (m.role == "user") {
          std::string text = m.content;
          if (!system.empty()) {
            text = system + "\n\n" + text;
            system.clear();
          }
          out += "[INST] " + text + " [/INST]";
        } else {
          out += m.content + "</s>";
        }
      }
      break;
    }
  }
  return out;
}

}  // namespace forge::llm
