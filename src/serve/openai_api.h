#pragma once
// The OpenAI wire format: request validation for /v1/completions and /v1/chat/completions,
// error JSON, and response/chunk builders. Pure functions of JSON (no HTTP, no model calls), so
// they are unit-testable.
#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "llm/sampler.h"
#include "serve/engine.h"
#include "text/tokenizer.h"

namespace forge::serve {

// An error answered to the client as {"error": {"message", "type", "param", "code"}}.
class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string type, std::string message, std::string code = "", std::string param = "",
           int retry_after_s = 0)
      : std::runtime_error(message),
        status(status),
        type(std::move(type)),
        code(std::move(code)),
        param(std::move(param)),
        retry_after_s(retry_after_s) {}
  int status;
  std::string type, code, param;
  int retry_after_s;
};

// 400 invalid_request_error naming the parameter.
[[noreturn]] void bad_request(const std::string& message, const std::string& param = "", const std::string& code = "");
nlohmann::json error_json(const std::string& message, const std::string& type, const std::string& code = "",
                          const std::string& param = "");

struct ChatMessage {
  std::string role, content;
};

// A validated completion or chat request.
struct CompletionParams {
  std::string model;
  bool chat = false;
  std::string prompt;                 // /v1/completions
  std::vector<ChatMessage> messages;  // /v1/chat/completions
  std::optional<int64_t> max_tokens;
  llm::SamplingParams sampling{};
  std::vector<std::string> stop;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;
  int32_t top_logprobs = 0;
  bool echo = false;
  int32_t n = 1;  // choices; choice i samples with seed + i
};

// Parses and validates a request body (unknown fields, wrong types and out-of-range values are
// 400s naming the parameter).
CompletionParams parse_completion_request(const nlohmann::json& body, bool chat);

// Renders chat messages with the ChatML layout ("<|im_start|>role\ncontent<|im_end|>\n" ... then
// "<|im_start|>assistant\n"), the format of SmolLM2/Qwen checkpoints and the fallback for models
// without a template.
std::string render_chatml(const std::vector<ChatMessage>& messages);

// Response pieces. `id` is "chatcmpl-..." / "cmpl-...", `created` unix seconds.
nlohmann::json logprobs_json(const std::vector<TokenPiece>& pieces, const text::Tokenizer& tok, bool chat);
nlohmann::json completion_response(const CompletionParams& p, const std::string& id, int64_t created,
                                   const GenerationResult& r, const std::vector<TokenPiece>& pieces,
                                   const text::Tokenizer& tok);
// n choices: results[i] / pieces[i] become choice i; usage counts the prompt once and the
// completion tokens of every choice.
nlohmann::json completion_response(const CompletionParams& p, const std::string& id, int64_t created,
                                   const std::vector<const GenerationResult*>& results,
                                   const std::vector<std::vector<TokenPiece>>& pieces, const text::Tokenizer& tok);
nlohmann::json stream_chunk(const CompletionParams& p, const std::string& id, int64_t created, const std::string& text,
                            const std::vector<TokenPiece>& pieces, const text::Tokenizer& tok,
                            const std::optional<std::string>& finish_reason, bool first, int index = 0);
nlohmann::json usage_json(int64_t prompt_tokens, int64_t completion_tokens);

// A short random hex id ("chatcmpl-3f9a...").
std::string random_id(const std::string& prefix);

}  // namespace forge::serve
