#pragma once
// Chat templates: turn a conversation into the prompt text a chat-tuned checkpoint was trained on.
// Instead of interpreting Jinja, the common formats are recognized by their markers in the
// checkpoint's template source (GGUF `tokenizer.chat_template`, tokenizer_config.json) and
// rendered natively: ChatML (SmolLM2, Qwen), Llama-3, Zephyr, Mistral/Llama-2 [INST].
// ChatML templates that insert a default system prompt (SmolLM2) keep that prompt.
#include <optional>
#include <string>
#include <vector>

namespace forge::llm {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

enum class ChatFormat { kChatML, kLlama3, kZephyr, kMistral };

class ChatTemplate {
 public:
  explicit ChatTemplate(ChatFormat format, std::optional<std::string> default_system = std::nullopt);
  // Recognizes the format of a Jinja template source; throws naming the markers it looked for
  // when the template is of no known format.
  static ChatTemplate detect(const std::string& jinja_source);
  // By name: "chatml", "llama3", "zephyr", "mistral" (throws listing them otherwise).
  static ChatTemplate from_name(const std::string& name);

  // The prompt for `messages`; add_generation_prompt appends the assistant header so the model
  // answers next. Roles must be system/user/assistant (system only first).
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt = true) const;
  // Strings that end an assistant turn (use as stop strings): "<|im_end|>", "<|eot_id|>", "</s>".
  std::vector<std::string> stop_strings() const;
  std::string name() const;
  ChatFormat format() const { return format_; }
  const std::optional<std::string>& default_system() const { return default_system_; }

 private:
  ChatFormat format_;
  std::optional<std::string> default_system_;
};

}  // namespace forge::llm
