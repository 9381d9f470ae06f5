#pragma once
// `forge serve`: an HTTP/1.1 (optionally TLS) server with OpenAI-compatible endpoints over named
// models, API keys with scopes and limits, a usage ledger and Prometheus metrics. Handlers only
// validate, authorize and enqueue; each language model has its own LlmEngine (engine.h).
//
//   serve::Server server(options);
//   server.add_llm("smol", llm::load_causal_lm("models/smollm2"));
//   server.bind();       // the port (options.port 0 = any free port)
//   server.run();        // blocks until stop() (e.g. from a SIGTERM handler thread)
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llm/causal_lm.h"
#include "llm/embedding_model.h"
#include "serve/engine.h"
#include "serve/keystore.h"
#include "serve/metrics.h"

namespace forge::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                   // 0 = any free port (see Server::bind)
  std::string cert_file, key_file;   // TLS (PEM) when both are set
  std::string keys_db;               // SQLite file or postgresql:// URL (open_keystore); "" = no keys, no ledger
  // SQLite ledger: each row is appended to the ledger journal before the response is sent and
  // the rows of each window of this many ms are committed together, off the request's path
  // (kill -9 loses none: the next open of the store replays the journal). 0 = commit each row
  // before the response is sent. PostgreSQL commits each row.
  int ledger_commit_ms = 5;
  bool metrics_require_key = false;  // GET /metrics needs a key with the "metrics" scope
  int http_threads = 64;             // connections served at once (a streaming request holds one)
  EngineOptions engine{};            // per language model
  double request_timeout_s = 600;    // generation deadline per request
  size_t max_body_bytes = 8 << 20;   // larger bodies get 413
  int keep_alive_timeout_s = 5;
  // After answering on a kept-alive connection, spin this long for the client's next request
  // before blocking (skips a thread wake-up for back-to-back requests; costs up to this much
  // CPU per response). 0 = block at once. Plain HTTP only (TLS keeps cpp-httplib's loop).
  int keepalive_spin_us = 50;
  double drain_timeout_s = 30;  // on stop(): time in-flight requests get before being cancelled
};

class Server {
 public:
  explicit Server(ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Models, by the name clients pass as "model".
  void add_llm(const std::string& name, llm::CausalLMPtr model);
  void add_embedding(const std::string& name, llm::EmbeddingModelPtr model);
  void add_predictor(const std::string& name, const std::string& model_dir);  // a Forge-trained model dir
  std::vector<std::string> model_names() const;

  // Binds the listening socket; returns the port.
  int bind();
  // Serves until stop(); then drains in-flight requests, stops the engines and closes the ledger.
  void run();
  // Graceful shutdown; safe from any thread, idempotent. Returns at once; run() returns when done.
  void stop();
  bool stopping() const;

  KeyStore* keystore() const;  // null when options.keys_db is ""
  Metrics& metrics() const;
  const ServeOptions& options() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace forge::serve
