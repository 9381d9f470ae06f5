// Server lifecycle, auth, metering and the small endpoints (health, metrics, models).
#include "serve/server.h"

#include <fmt/format.h>

#include "core/error.h"
#include "serve/http_server.h"
#include "serve/server_impl.h"

namespace forge::serve {

using nlohmann::json;

Server::Impl::Impl(ServeOptions o) : options(std::move(o)) {
  created_s = now_ms() / 1000;
  if (!options.keys_db.empty()) {
    keys = open_keystore(options.keys_db, options.ledger_commit_ms);
    limiter = std::make_unique<RateLimiter>(
        [k = keys](int64_t key_id, int64_t since_ms) { return k->tokens_used(key_id, since_ms); },
        keys->shared_ledger());
  }
  bool tls = !options.cert_file.empty() || !options.key_file.empty();
  if (tls) {
    FORGE_CHECK(!options.cert_file.empty() && !options.key_file.empty(),
                "[serve] TLS needs both --cert and --key (got cert '{}', key '{}')", options.cert_file,
                options.key_file);
    auto ssl = std::make_unique<httplib::SSLServer>(options.cert_file.c_str(), options.key_file.c_str());
    FORGE_CHECK(ssl->is_valid(), "[serve] cannot use TLS certificate '{}' with key '{}'", options.cert_file,
                options.key_file);
    http = std::move(ssl);
  } else {
    http = std::make_unique<HttpServer>(options.keepalive_spin_us);
  }
  FORGE_CHECK(options.keepalive_spin_us >= 0 && options.keepalive_spin_us <= 100000,
              "[serve] keepalive_spin_us must be 0..100000 microseconds (got {})", options.keepalive_spin_us);
  size_t threads = static_cast<size_t>(std::max(1, options.http_threads));
  http->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  http->set_payload_max_length(options.max_body_bytes);
  http->set_keep_alive_timeout(options.keep_alive_timeout_s);
  http->set_keep_alive_max_count(100000);
  // Responses go out as headers + body writes; without TCP_NODELAY, Nagle holds the body until
  // the client ACKs the headers, and delayed ACKs make every keep-alive request take ~40 ms.
  http->set_tcp_nodelay(true);
  http->set_read_timeout(30);
  http->set_write_timeout(30);
  metrics.set_gauge_source([this] {
    std::vector<std::pair<std::string, double>> g;
    for (const auto& [name, e] : llms) {
      g.emplace_back(fmt::format("forge_queue_depth{{model=\"{}\"}}", prom_escape(name)),
                     static_cast<double>(e.engine->queue_depth()));
    }
    for (const auto& [name, e] : llms) {
      g.emplace_back(fmt::format("forge_active_slots{{model=\"{}\"}}", prom_escape(name)), e.engine->active_slots());
    }
    for (const auto& [name, e] : llms) {
      g.emplace_back(fmt::format("forge_slots{{model=\"{}\"}}", prom_escape(name)), e.engine->options().slots);
    }
    g.emplace_back("forge_http_in_flight", in_flight.load());
    return g;
  });
  register_routes();
}

void Server::Impl::send_json(httplib::Response& res, int status, const json& j) const {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

void Server::Impl::send_error(httplib::Response& res, const ApiError& e) const {
  if (e.retry_after_s > 0) res.set_header("Retry-After", std::to_string(e.retry_after_s));
  send_json(res, e.status, error_json(e.what(), e.type, e.code, e.param));
}

json Server::Impl::parse_body(const httplib::Request& req) const {
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    throw ApiError(400, "invalid_request_error",
                   fmt::format("We could not parse the JSON body of your request: {}", e.what()), "invalid_json");
  }
}

std::optional<ApiKey> Server::Impl::authorize(const httplib::Request& req, const std::string& scope) const {
  if (!keys) return std::nullopt;
  std::string auth = req.get_header_value("Authorization");
  const std::string bearer = "Bearer ";
  if (auth.empty()) {
    throw ApiError(401, "invalid_request_error",
                   "You didn't provide an API key. Send it in the Authorization header: 'Authorization: Bearer KEY'.",
                   "missing_api_key");
  }
  if (auth.compare(0, bearer.size(), bearer) != 0) {
    throw ApiError(401, "invalid_request_error", "The Authorization header must be 'Bearer KEY'.", "invalid_api_key");
  }
  std::optional<ApiKey> key;
  try {
    key = keys->authenticate(auth.substr(bearer.size()));
  } catch (const std::exception& e) {
    // The store is down (e.g. PostgreSQL unreachable): a server-side problem, and its details
    // (host names) are for the operator's log, not the client.
    fmt::print(stderr, "forge serve: key store error: {}\n", e.what());
    throw ApiError(503, "server_error", "The key store is unavailable; try again shortly.", "key_store_unavailable", "",
                   1);
  }
  if (!key) {
    // Never echo the key back (it may be a real key pasted in the wrong place).
    throw ApiError(401, "invalid_request_error", "Incorrect API key provided, or the key was revoked.",
                   "invalid_api_key");
  }
  if (!key->has_scope(scope)) {
    throw ApiError(403, "permission_error", fmt::format("This key lacks the '{}' scope.", scope), "insufficient_scope");
  }
  return key;
}

void Server::Impl::admit(const RequestRecord& rec, int64_t prompt_tokens) {
  if (!limiter || !rec.key) return;
  LimitVerdict v;
  try {
    v = limiter->admit(*rec.key, prompt_tokens, now_ms());
  } catch (const std::exception& e) {  // a shared ledger that cannot be read (quota unknown)
    fmt::print(stderr, "forge serve: key store error: {}\n", e.what());
    throw ApiError(503, "server_error", "The key store is unavailable; try again shortly.", "key_store_unavailable", "",
                   1);
  }
  if (!v.allowed) {
    throw ApiError(429, v.code == "insufficient_quota" ? "insufficient_quota" : "requests", v.message, v.code, "",
                   v.retry_after_s);
  }
}

void Server::Impl::finish(const RequestRecord& rec) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - rec.start).count();
  metrics.observe_request(rec.endpoint, rec.status, seconds);
  if (rec.ttft_s >= 0) metrics.observe_time_to_first_token(rec.model, rec.ttft_s);
  if (!rec.metered) return;
  int64_t tokens = rec.prompt_tokens + rec.completion_tokens;
  metrics.add_tokens(rec.key ? rec.key->name : "", rec.model, rec.prompt_tokens, rec.completion_tokens);
  if (limiter && rec.key) limiter->charge(*rec.key, tokens, now_ms());
  if (keys) {
    UsageRow row;
    row.time_ms = now_ms();
    row.key_id = rec.key ? rec.key->id : 0;
    row.model = rec.model;
    row.endpoint = rec.endpoint;
    row.prompt_tokens = rec.prompt_tokens;
    row.completion_tokens = rec.completion_tokens;
    row.latency_ms = seconds * 1000;
    row.status = rec.status;
    try {
      keys->record_usage(row);
    } catch (const std::exception& e) {
      fmt::print(stderr, "forge serve: ledger write failed: {}\n", e.what());
    }
  }
}

void Server::Impl::handle(const httplib::Request& req, httplib::Response& res, const std::string& endpoint,
                          const std::function<bool(RequestRecord&)>& body) {
  RequestRecord rec;
  rec.endpoint = endpoint;
  in_flight.fetch_add(1);
  bool done_here = true;
  try {
    if (stopping.load()) throw ApiError(503, "server_error", "The server is shutting down.", "shutting_down", "", 1);
    done_here = body(rec);
  } catch (const ApiError& e) {
    send_error(res, e);
  } catch (const Error& e) {
    send_error(res, ApiError(400, "invalid_request_error", e.what()));
  } catch (const std::exception& e) {
    send_error(res, ApiError(500, "server_error", fmt::format("Internal error: {}", e.what())));
  }
  if (done_here) {  // streams finish (and leave in_flight) when their last chunk is written
    in_flight.fetch_sub(1);
    rec.status = res.status;
    finish(rec);
  }
}

LlmEntry& Server::Impl::llm(const std::string& name, const std::string& param) {
  auto it = llms.find(name);
  if (it == llms.end()) {
    throw ApiError(404, "invalid_request_error",
                   fmt::format("The model '{}' does not exist or is not a language model.", name), "model_not_found",
                   param);
  }
  return it->second;
}

void Server::Impl::register_routes() {
  http->set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    if (res.status == 404) {
      send_json(res, 404, error_json("Unknown endpoint.", "invalid_request_error", "not_found"));
    } else if (res.status == 413) {
      send_json(res, 413,
                error_json(fmt::format("The request body exceeds {} bytes.", options.max_body_bytes),
                           "invalid_request_error", "request_too_large"));
    } else {
      send_json(res, res.status, error_json(fmt::format("HTTP error {}.", res.status), "invalid_request_error"));
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  http->Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (stopping.load()) {
      res.status = 503;
      res.set_content("{\"status\":\"stopping\"}", "application/json");
    } else {
      res.set_content("{\"status\":\"ok\"}", "application/json");
    }
  });
  http->Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/metrics", [&](RequestRecord& rec) {
      if (options.metrics_require_key) rec.key = authorize(req, kScopeMetrics);
      res.set_content(metrics.render(), "text/plain; version=0.0.4");
      return true;
    });
  });
  http->Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/v1/models", [&](RequestRecord& rec) {
      rec.key = authorize(req, kScopeInference);
      json data = json::array();
      auto add = [&](const std::string& name, const char* kind, json extra) {
        json m = {{"id", name}, {"object", "model"}, {"created", created_s}, {"owned_by", "forge"}, {"kind", kind}};
        m.update(extra);
        data.push_back(m);
      };
      for (const auto& [name, e] : llms) add(name, "llm", {{"context_length", e.engine->max_sequence_tokens()}});
      for (const auto& [name, e] : embeddings) add(name, "embedding", {{"dimensions", e.model->dim()}});
      for (const auto& [name, e] : predictors) add(name, "predict", json::object());
      send_json(res, 200, {{"object", "list"}, {"data", data}});
      return true;
    });
  });
  register_llm_routes();
  register_model_routes();
  register_admin_routes();
  register_web_routes();
}

// ---- Server

Server::Server(ServeOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() {
  stop();
  if (impl_->stop_thread.joinable()) impl_->stop_thread.join();
  for (auto& [name, e] : impl_->llms) e.engine->stop();
}

void Server::add_llm(const std::string& name, llm::CausalLMPtr model) {
  FORGE_CHECK(model != nullptr, "[serve] model '{}' is null", name);
  FORGE_CHECK(model->tokenizer() != nullptr, "[serve] language model '{}' has no tokenizer", name);
  FORGE_CHECK(impl_->llms.count(name) == 0 && impl_->embeddings.count(name) == 0 && impl_->predictors.count(name) == 0,
              "[serve] two models are named '{}'", name);
  std::optional<llm::ChatTemplate> chat_template;
  if (auto source = model->chat_template()) {
    try {
      chat_template = llm::ChatTemplate::detect(*source);
    } catch (const Error& e) {  // an unknown format: ChatML, and say so once
      fmt::print(stderr, "forge serve: model '{}': {}; chat requests use ChatML\n", name, e.what());
    }
  }
  auto engine = std::make_unique<LlmEngine>(model, impl_->options.engine);
  impl_->llms.emplace(name, LlmEntry{std::move(model), std::move(engine), std::move(chat_template)});
}

void Server::add_embedding(const std::string& name, llm::EmbeddingModelPtr model) {
  FORGE_CHECK(model != nullptr, "[serve] model '{}' is null", name);
  FORGE_CHECK(model->tokenizer() != nullptr, "[serve] embedding model '{}' has no tokenizer", name);
  FORGE_CHECK(impl_->llms.count(name) == 0 && impl_->embeddings.count(name) == 0 && impl_->predictors.count(name) == 0,
              "[serve] two models are named '{}'", name);
  EmbeddingEntry e;
  e.model = std::move(model);
  impl_->embeddings.emplace(name, std::move(e));
}

void Server::add_predictor(const std::string& name, const std::string& model_dir) {
  FORGE_CHECK(impl_->llms.count(name) == 0 && impl_->embeddings.count(name) == 0 && impl_->predictors.count(name) == 0,
              "[serve] two models are named '{}'", name);
  PredictorEntry e;
  e.dir = model_dir;
  impl_->predictors.emplace(name, std::move(e));
}

std::vector<std::string> Server::model_names() const {
  std::vector<std::string> out;
  for (const auto& [n, e] : impl_->llms) out.push_back(n);
  for (const auto& [n, e] : impl_->embeddings) out.push_back(n);
  for (const auto& [n, e] : impl_->predictors) out.push_back(n);
  return out;
}

int Server::bind() {
  auto& o = impl_->options;
  int port = o.port;
  if (port == 0) {
    port = impl_->http->bind_to_any_port(o.host);
    FORGE_CHECK(port > 0, "[serve] cannot bind {} to a free port", o.host);
  } else {
    FORGE_CHECK(impl_->http->bind_to_port(o.host, port), "[serve] cannot listen on {}:{} (in use? permission?)", o.host,
                port);
  }
  impl_->bound = true;
  return port;
}

void Server::run() {
  FORGE_CHECK(impl_->bound, "[serve] run() before bind()");
  impl_->http->listen_after_bind();  // returns after stop(), once the handler threads finished
  if (impl_->stop_thread.joinable()) impl_->stop_thread.join();
  for (auto& [name, e] : impl_->llms) e.engine->stop();
  if (impl_->keys) {
    try {
      impl_->keys->flush_usage();  // a graceful stop keeps every ledger row
    } catch (const std::exception& e) {
      fmt::print(stderr, "forge serve: ledger write failed: {}\n", e.what());
    }
  }
}

void Server::stop() {
  std::lock_guard lock(impl_->stop_mu);
  if (impl_->stopping.exchange(true)) return;
  // Stop accepting now; in-flight requests get drain_timeout_s, then their generations are
  // cancelled so their handlers return and the thread pool can join.
  impl_->stop_thread = std::thread([impl = impl_.get()] {
    impl->http->stop();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(impl->options.drain_timeout_s);
    while (impl->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& [name, e] : impl->llms) e.engine->stop();
  });
}

bool Server::stopping() const { return impl_->stopping.load(); }
KeyStore* Server::keystore() const { return impl_->keys.get(); }
Metrics& Server::metrics() const { return impl_->metrics; }
const ServeOptions& Server::options() const { return impl_->options; }

}  // namespace forge::serve
