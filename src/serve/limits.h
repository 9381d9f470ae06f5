#pragma once
// Per-key request and token limits: requests/minute and tokens/minute over a sliding 60 s window
// (in memory, per server process), and monthly token quotas: with a private ledger (SQLite)
// seeded from the ledger once per month and then counted here; with a shared ledger
// (PostgreSQL, several servers) read from the ledger for every request, so every server sees
// the tokens the others charged.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "serve/keystore.h"

namespace forge::serve {

struct LimitVerdict {
  bool allowed = true;
  std::string code;       // "rate_limit_exceeded" / "insufficient_quota"
  std::string message;    // OpenAI-style, names the limit
  int retry_after_s = 0;  // for Retry-After
};

class RateLimiter {
 public:
  // tokens_used(key_id, since_ms): the ledger's monthly total, read once per key and month, or
  // for every admit() of a key with a monthly quota when `shared_ledger`.
  explicit RateLimiter(std::function<int64_t(int64_t, int64_t)> tokens_used, bool shared_ledger = false);
  // Checks the key's limits for a new request that will use about `prompt_tokens` (0 when not
  // known yet) and, when allowed, counts the request.
  LimitVerdict admit(const ApiKey& key, int64_t prompt_tokens, int64_t now_ms);
  // Charges tokens of a finished request.
  void charge(const ApiKey& key, int64_t tokens, int64_t now_ms);

 private:
  struct KeyState {
    std::deque<int64_t> request_times;                    // ms, last 60 s
    std::deque<std::pair<int64_t, int64_t>> token_times;  // (ms, tokens), last 60 s
    int64_t tokens_in_window = 0;
    int64_t month_start = -1;
    int64_t month_tokens = 0;
  };
  void expire(KeyState& s, int64_t now_ms);
  KeyState& state(const ApiKey& key, int64_t now_ms);
  std::function<int64_t(int64_t, int64_t)> tokens_used_;
  bool shared_ledger_ = false;
  std::mutex mu_;
  std::map<int64_t, KeyState> keys_;
};

}  // namespace forge::serve
