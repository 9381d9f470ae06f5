#include "serve/limits.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace forge::serve {

namespace {
constexpr int64_t kWindowMs = 60'000;
int retry_seconds(int64_t oldest_ms, int64_t now_ms) {
  return static_cast<int>(std::max<int64_t>(1, (oldest_ms + kWindowMs - now_ms + 999) / 1000));
}
}  // namespace

RateLimiter::RateLimiter(std::function<int64_t(int64_t, int64_t)> tokens_used, bool shared_ledger)
    : tokens_used_(std::move(tokens_used)), shared_ledger_(shared_ledger) {}

void RateLimiter::expire(KeyState& s, int64_t now_ms) {
  while (!s.request_times.empty() && s.request_times.front() <= now_ms - kWindowMs) s.request_times.pop_front();
  while (!s.token_times.empty() && s.token_times.front().first <= now_ms - kWindowMs) {
    s.tokens_in_window -= s.token_times.front().second;
    s.token_times.pop_front();
  }
}

RateLimiter::KeyState& RateLimiter::state(const ApiKey& key, int64_t now_ms) {
  KeyState& s = keys_[key.id];
  int64_t month = month_start_ms(now_ms);
  if (s.month_start != month) {
    s.month_start = month;
    s.month_tokens = tokens_used_ ? tokens_used_(key.id, month) : 0;
  }
  expire(s, now_ms);
  return s;
}

LimitVerdict RateLimiter::admit(const ApiKey& key, int64_t prompt_tokens, int64_t now_ms) {
  // Shared ledger: other servers charge this key too, so the month's total comes from the store
  // (queried before taking the lock: it is a network round trip).
  std::optional<int64_t> shared_month;
  if (shared_ledger_ && key.monthly_tokens > 0 && tokens_used_) {
    shared_month = tokens_used_(key.id, month_start_ms(now_ms));
  }
  std::lock_guard lock(mu_);
  KeyState& s = state(key, now_ms);
  if (shared_month) s.month_tokens = *shared_month;
  LimitVerdict v;
  if (key.monthly_tokens > 0 && s.month_tokens >= key.monthly_tokens) {
    v.allowed = false;
    v.code = "insufficient_quota";
    v.message = fmt::format("You exceeded your monthly token quota ({} tokens used of {}).", s.month_tokens,
                            key.monthly_tokens);
    // Seconds until the next month starts (UTC).
    int64_t next = month_start_ms(s.month_start + 32LL * 24 * 3600 * 1000);
    v.retry_after_s = static_cast<int>(std::max<int64_t>(1, (next - now_ms) / 1000));
    return v;
  }
  if (key.rpm > 0 && static_cast<int64_t>(s.request_times.size()) >= key.rpm) {
    v.allowed = false;
    v.code = "rate_limit_exceeded";
    v.message = fmt::format("Rate limit reached for requests: limit {} per minute.", key.rpm);
    v.retry_after_s = retry_seconds(s.request_times.front(), now_ms);
    return v;
  }
  if (key.tpm > 0 && (s.tokens_in_window >= key.tpm || s.tokens_in_window + prompt_tokens > key.tpm)) {
    v.allowed = false;
    v.code = "rate_limit_exceeded";
    v.message = fmt::format("Rate limit reached for tokens: limit {} per minute, used {}, requested {}.", key.tpm,
                            s.tokens_in_window, prompt_tokens);
    v.retry_after_s = s.token_times.empty() ? 60 : retry_seconds(s.token_times.front().first, now_ms);
    return v;
  }
  s.request_times.push_back(now_ms);
  return v;
}

void RateLimiter::charge(const ApiKey& key, int64_t tokens, int64_t now_ms) {
  if (tokens <= 0) return;
  std::lock_guard lock(mu_);
  KeyState& s = state(key, now_ms);
  s.token_times.emplace_back(now_ms, tokens);
  s.tokens_in_window += tokens;
  s.month_tokens += tokens;
}

}  // namespace forge::serve
