#pragma once
// A multi-turn conversation with one KV cache kept across turns (`forge chat`): each turn renders
// the whole history with the chat template, keeps the cached positions that are a prefix of the
// new prompt and prefills only the rest, so turn k costs the new turn's tokens, not the whole
// conversation. When the history no longer fits the context, the oldest turns are dropped (the
// system prompt stays) and the caller is told through on_notice; nothing is truncated silently.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llm/causal_lm.h"
#include "llm/chat_template.h"
#include "llm/generate.h"

namespace forge::llm {

struct ChatSessionOptions {
  GenerateOptions generate{};       // stop strings/ids of the template are added by the session
  std::optional<std::string> system{};
  int64_t context = 0;              // positions kept for the conversation; 0 = the model's context
  bool reuse_cache = true;          // false: prefill the whole history every turn (for comparison)
  int64_t min_reply_tokens = 64;    // room left for the reply when deciding to drop old turns
};

struct ChatTurn {
  GenerateResult result;     // prompt_tokens is the whole rendered history, prefilled_tokens the new part
  int64_t reused_tokens = 0;  // cached positions kept from earlier turns
  int dropped_turns = 0;      // oldest user/assistant exchanges forgotten to fit the context
};

class ChatSession {
 public:
  ChatSession(CausalLMPtr model, ChatTemplate chat_template, ChatSessionOptions options);

  // Adds a user message, generates the assistant's reply (streamed through on_text, which may
  // cancel by returning false) and adds it to the history. Notices such as dropped turns go to
  // on_notice. Throws when the new message alone does not fit the context.
  ChatTurn send(const std::string& user_text, const std::function<bool(std::string_view)>& on_text = {},
                const std::function<void(const std::string&)>& on_notice = {});
  // Forgets the conversation (keeps the system prompt).
  void reset();
  const std::vector<ChatMessage>& history() const { return history_; }
  int64_t context() const { return context_; }
  int64_t cached_tokens() const { return cache_ ? cache_->size() : 0; }

 private:
  std::vector<int32_t> render(bool add_generation_prompt) const;

  CausalLMPtr model_;
  ChatTemplate template_;
  ChatSessionOptions options_;
  int64_t context_ = 0;
  std::vector<ChatMessage> history_;
  std::unique_ptr<KvCache> cache_;
  std::vector<int32_t> cached_;  // the tokens in cache_ (cache_->size() of them)
  uint64_t turn_ = 0;
};

}  // namespace forge::llm
