#include "llm/chat_session.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/error.h"

namespace forge::llm {

ChatSession::ChatSession(CausalLMPtr model, ChatTemplate chat_template, ChatSessionOptions options)
    : model_(std::move(model)), template_(std::move(chat_template)), options_(std::move(options)) {
  FORGE_CHECK(model_ != nullptr, "[chat] no model given");
  FORGE_CHECK(model_->tokenizer() != nullptr, "[chat] model {} has no tokenizer", model_->name());
  FORGE_CHECK(options_.context >= 0, "[chat] context must be >= 0 (0 = the model's), got {}", options_.context);
  FORGE_CHECK(options_.min_reply_tokens >= 1, "[chat] min_reply_tokens must be >= 1, got {}",
              options_.min_reply_tokens);
  context_ = options_.context == 0 ? model_->context_length() : std::min(options_.context, model_->context_length());
  auto tok = model_->tokenizer();
  for (const auto& s : template_.stop_strings()) {
    if (auto id = tok->token_to_id(s)) options_.generate.stop_ids.push_back(*id);
    options_.generate.stop.push_back(s);
  }
  reset();
}

void ChatSession::reset() {
  history_.clear();
  if (options_.system && !options_.system->empty()) history_.push_back({"system", *options_.system});
  if (cache_) cache_->truncate(0);
  cached_.clear();
}

std::vector<int32_t> ChatSession::render(bool add_generation_prompt) const {
  return model_->tokenizer()->encode(template_.render(history_, add_generation_prompt), false);
}

ChatTurn ChatSession::send(const std::string& user_text, const std::function<bool(std::string_view)>& on_text,
                           const std::function<void(const std::string&)>& on_notice) {
  ChatTurn turn;
  history_.push_back({"user", user_text});
  std::vector<int32_t> prompt = render(true);
  // Drop the oldest exchanges (after the system prompt) until the prompt leaves room for a reply.
  const size_t first = !history_.empty() && history_.front().role == "system" ? 1 : 0;
  const int64_t room = std::min(options_.min_reply_tokens, std::max<int64_t>(1, context_ / 4));
  while (static_cast<int64_t>(prompt.size()) + room > context_ && history_.size() > first + 1) {
    // Remove the oldest user message and the replies up to the next user message.
    size_t end = first + 1;
    while (end < history_.size() - 1 && history_[end].role != "user") ++end;
    history_.erase(history_.begin() + static_cast<std::ptrdiff_t>(first),
                   history_.begin() + static_cast<std::ptrdiff_t>(end));
    ++turn.dropped_turns;
    prompt = render(true);
  }
  if (turn.dropped_turns > 0 && on_notice) {
    on_notice(fmt::format("(dropped the oldest {} turn{} of the conversation to fit the context of {} tokens)",
                          turn.dropped_turns, turn.dropped_turns == 1 ? "" : "s", context_));
  }
  if (static_cast<int64_t>(prompt.size()) + 1 >= context_) {
    history_.pop_back();
    fail("[chat] the message needs {} tokens with the template but the context holds {}; send a shorter one or "
         "/reset",
         prompt.size(), context_);
  }

  if (!cache_) cache_ = model_->new_cache(context_);
  size_t keep = 0;
  if (options_.reuse_cache) {
    const size_t limit = std::min(cached_.size(), prompt.size() - 1);  // at least one token is new
    while (keep < limit && cached_[keep] == prompt[keep]) ++keep;
  }
  cache_->truncate(static_cast<int64_t>(keep));
  turn.reused_tokens = static_cast<int64_t>(keep);

  GenerateOptions o = options_.generate;
  o.sampling.seed = options_.generate.sampling.seed + turn_++;
  o.max_tokens = std::min(options_.generate.max_tokens, context_ - static_cast<int64_t>(prompt.size()));
  turn.result = generate_continue(*model_, *cache_, prompt, o, on_text);

  cached_ = prompt;
  cached_.insert(cached_.end(), turn.result.tokens.begin(), turn.result.tokens.end());
  cached_.resize(static_cast<size_t>(cache_->size()));
  history_.push_back({"assistant", turn.result.text});
  return turn;
}

}  // namespace forge::llm
