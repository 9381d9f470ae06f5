#pragma once
// Private to src/serve: the server's state shared by server.cpp (lifecycle, auth, metering,
// small endpoints) and the endpoint files (handlers_llm.cpp, handlers_models.cpp).
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "llm/chat_template.h"
#include "serve/limits.h"
#include "serve/openai_api.h"
#include "serve/server.h"

namespace forge::serve {

// What one request did, for metrics and the ledger (written once, when the response is done;
// for streams that is after the last chunk).
struct RequestRecord {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::string endpoint;  // route label: "/v1/chat/completions"
  std::optional<ApiKey> key;
  std::string model;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  int status = 200;
  bool metered = false;  // writes a ledger row (model endpoints)
  double ttft_s = -1;
};

struct LlmEntry {
  llm::CausalLMPtr model;
  std::unique_ptr<LlmEngine> engine;
  // The checkpoint's own chat template when it is a known format (ChatML, Llama-3, Zephyr,
  // Mistral); chat requests fall back to ChatML without one.
  std::optional<llm::ChatTemplate> chat_template;
};
struct EmbeddingEntry {
  llm::EmbeddingModelPtr model;
  std::unique_ptr<std::mutex> mu = std::make_unique<std::mutex>();
};
struct PredictorEntry {
  std::string dir;
  std::unique_ptr<std::mutex> mu = std::make_unique<std::mutex>();
};

struct Server::Impl {
  explicit Impl(ServeOptions o);

  ServeOptions options;
  std::unique_ptr<httplib::Server> http;
  std::shared_ptr<KeyStore> keys;
  std::unique_ptr<RateLimiter> limiter;
  Metrics metrics;
  std::map<std::string, LlmEntry> llms;
  std::map<std::string, EmbeddingEntry> embeddings;
  std::map<std::string, PredictorEntry> predictors;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  bool bound = false;
  std::mutex stop_mu;
  std::thread stop_thread;
  int64_t created_s = 0;

  // Auth: the key of the request (nullopt when the server has no key store). Throws ApiError
  // 401 (missing/invalid/revoked) or 403 (scope).
  std::optional<ApiKey> authorize(const httplib::Request& req, const std::string& scope) const;
  // Per-key limits for a model request about to use `prompt_tokens`; throws ApiError 429.
  void admit(const RequestRecord& rec, int64_t prompt_tokens);
  // Metrics + ledger + token charges for a finished request.
  void finish(const RequestRecord& rec);
  // Runs `body` with error mapping: ApiError -> its status, forge::Error -> 400, other -> 500.
  // When body returns false the response is a stream that calls finish() itself.
  void handle(const httplib::Request& req, httplib::Response& res, const std::string& endpoint,
              const std::function<bool(RequestRecord&)>& body);
  void send_json(httplib::Response& res, int status, const nlohmann::json& j) const;
  void send_error(httplib::Response& res, const ApiError& e) const;
  nlohmann::json parse_body(const httplib::Request& req) const;

  void register_routes();
  void register_llm_routes();    // handlers_llm.cpp
  void register_model_routes();  // handlers_models.cpp
  void register_admin_routes();  // handlers_admin.cpp
  void register_web_routes();    // handlers_web.cpp: playground + GET /v1/usage
  LlmEntry& llm(const std::string& name, const std::string& param = "model");
};

}  // namespace forge::serve
