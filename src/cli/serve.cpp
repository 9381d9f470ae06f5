// `forge serve`: the model server (src/serve). Models from --model flags and/or --config TOML;
// SIGTERM/SIGINT stop it gracefully (stop accepting, drain in-flight requests, flush the ledger).
#include <fmt/format.h>
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "core/error.h"
#include "serve/model_config.h"
#include "serve/server.h"

namespace forge::cli {

void register_serve(CLI::App& app) {
  struct Args {
    std::string config;
    std::vector<std::string> models, loras;
    std::string host, keys, cert, key;
    int port = -1, slots = 0, threads = 0, keepalive_spin_us = -1, ledger_commit_ms = -1;
    int64_t prefill_budget = 0;
    int max_queue = -1;
    double timeout = 0;
    bool metrics_key = false, no_keys = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("serve", "Serve models over HTTP: OpenAI-compatible API, keys, usage ledger, metrics");
  cmd->add_option("--config", a->config, "serve TOML file ([server] and [[models]]; see docs/serving.md)");
  cmd->add_option("--model", a->models,
                  "NAME=PATH or NAME=KIND:PATH (KIND: llm, embedding, predict; noop: a no-op embedding model for "
                  "benchmarks); repeatable");
  cmd->add_option("--lora", a->loras,
                  "NAME=ADAPTER_DIR: merge a LoRA adapter (PEFT format or a finetune run dir) into the Llama model "
                  "NAME at load; repeatable");
  cmd->add_option("--host", a->host, "address to listen on (default 127.0.0.1)");
  cmd->add_option("--port", a->port, "port (default 8080; 0 = any free port)");
  cmd->add_option("--keys", a->keys,
                  "API keys and usage ledger: SQLite file or postgresql://user@host:port/db (shared by servers)");
  cmd->add_flag("--no-keys", a->no_keys, "serve without API keys (anyone can call it; no ledger)");
  cmd->add_option("--cert", a->cert, "TLS certificate (PEM)");
  cmd->add_option("--key", a->key, "TLS private key (PEM)");
  cmd->add_option("--slots", a->slots, "parallel sequences per language model (default 4)");
  cmd->add_option("--prefill-budget", a->prefill_budget, "prompt tokens per engine step (default 256)");
  cmd->add_option("--max-queue", a->max_queue, "waiting requests per model before 429 (default 64)");
  cmd->add_option("--timeout", a->timeout, "request timeout in seconds (default 600)");
  cmd->add_option("--threads,--http-threads", a->threads, "HTTP connections served at once (default 64)");
  cmd->add_option("--keepalive-spin-us", a->keepalive_spin_us,
                  "after a response, spin this long for the next request on the connection before blocking "
                  "(default 50; 0 = block at once)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--ledger-commit-ms", a->ledger_commit_ms,
                  "SQLite ledger: rows are journaled before each answer and committed in groups of this many "
                  "ms (default 5; kill -9 loses none: the next open replays the journal); 0 commits each row "
                  "before answering")
      ->check(CLI::Range(0, 10000));
  cmd->add_flag("--metrics-key", a->metrics_key, "GET /metrics needs a key with the 'metrics' scope");
  cmd->callback([a] {
    serve::ServeOptions o;
    std::vector<serve::ModelSpec> specs;
    if (!a->config.empty()) serve::read_serve_config(a->config, o, specs);
    for (const auto& m : a->models) specs.push_back(serve::parse_model_flag(m));
    for (const auto& l : a->loras) serve::apply_lora_flag(l, specs);
    if (!a->host.empty()) o.host = a->host;
    if (a->port >= 0) o.port = a->port;
    if (!a->keys.empty()) o.keys_db = a->keys;
    if (a->no_keys) o.keys_db.clear();
    if (!a->cert.empty()) o.cert_file = a->cert;
    if (!a->key.empty()) o.key_file = a->key;
    if (a->slots > 0) o.engine.slots = a->slots;
    if (a->prefill_budget > 0) o.engine.prefill_budget = a->prefill_budget;
    if (a->max_queue >= 0) o.engine.max_queue = static_cast<size_t>(a->max_queue);
    if (a->timeout > 0) o.request_timeout_s = a->timeout;
    if (a->threads > 0) o.http_threads = a->threads;
    if (a->ledger_commit_ms >= 0) o.ledger_commit_ms = a->ledger_commit_ms;
    if (a->keepalive_spin_us >= 0) o.keepalive_spin_us = a->keepalive_spin_us;
    if (a->metrics_key) o.metrics_require_key = true;
    FORGE_CHECK(!specs.empty(), "[serve] no models: give --model NAME=PATH or --config FILE");
    FORGE_CHECK(!o.keys_db.empty() || a->no_keys,
                "[serve] give --keys FILE|URL (API keys and usage ledger) or --no-keys to serve without keys");

    // Signals go to one thread that asks the server to stop; every other thread blocks them.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    serve::Server server(o);
    for (const auto& spec : specs) {
      serve::load_model(server, spec);
      std::cerr << "forge serve: loaded " << spec.name << " (" << spec.path
                << (spec.lora.empty() ? "" : " + LoRA " + spec.lora) << ")\n";
    }
    int port = server.bind();
    fmt::print("forge serve: listening on {}://{}:{} (models: {})\n", o.cert_file.empty() ? "http" : "https", o.host,
               port, fmt::join(server.model_names(), ", "));
    std::cout.flush();
    std::fflush(stdout);
    std::atomic<bool> done{false};
    std::thread watcher([&] {
      timespec wait{0, 200'000'000};
      while (!done.load()) {
        int sig = sigtimedwait(&signals, nullptr, &wait);
        if (sig == SIGINT || sig == SIGTERM) {
          std::cerr << "forge serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", shutting down\n";
          server.stop();
        }
      }
    });
    server.run();
    done.store(true);
    watcher.join();
    std::cerr << "forge serve: stopped\n";
  });
}

}  // namespace forge::cli
