// `forge usage [--key K] [--since DATE] [--csv]`: the usage ledger of forge serve, for billing.
#include <fmt/format.h>

#include <iostream>
#include <map>

#include "cli/commands.h"
#include "core/error.h"
#include "serve/keystore.h"
#include "serve/keystore_pg.h"

namespace forge::cli {

void register_usage(CLI::App& app) {
  struct Args {
    std::string db = "forge-keys.db", key, since;
    bool csv = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("usage", "Usage ledger of forge serve: totals per key and model, or every row as CSV");
  cmd->add_option("--db,--keys", a->db, "key store: SQLite file or postgresql:// URL (the --keys of forge serve)")
      ->capture_default_str();
  cmd->add_option("--key", a->key, "only this key (id, public id or name)");
  cmd->add_option("--since", a->since, "rows at or after: 2024-05-01, 2024-05-01T12:00:00 (UTC) or unix seconds");
  cmd->add_flag("--csv", a->csv, "every ledger row as CSV (time,key_id,key,model,endpoint,...)");
  cmd->callback([a] {
    auto store = serve::open_keystore(a->db);
    serve::UsageFilter f;
    if (!a->key.empty()) {
      auto k = store->find_key(a->key);
      FORGE_CHECK(k.has_value(), "[usage] no key '{}' in {}", a->key,
                  serve::is_postgres_url(a->db) ? serve::redact_postgres_url(a->db) : a->db);
      f.key_id = k->id;
    }
    if (!a->since.empty()) f.since_ms = serve::parse_since(a->since);
    std::map<int64_t, std::string> names;
    for (const auto& k : store->list_keys()) names[k.id] = k.name;
    auto rows = store->usage(f);
    if (a->csv) {
      std::cout << "time,key_id,key,model,endpoint,prompt_tokens,completion_tokens,latency_ms,status\n";
      for (const auto& r : rows) {
        std::cout << fmt::format("{},{},{},{},{},{},{},{:.3f},{}\n", serve::format_time_ms(r.time_ms), r.key_id,
                                 names.count(r.key_id) ? names[r.key_id] : "", r.model, r.endpoint, r.prompt_tokens,
                                 r.completion_tokens, r.latency_ms, r.status);
      }
      return;
    }
    struct Total {
      int64_t requests = 0, errors = 0, prompt = 0, completion = 0;
    };
    std::map<std::pair<std::string, std::string>, Total> totals;
    for (const auto& r : rows) {
      Total& t = totals[{names.count(r.key_id) ? names[r.key_id] : "(none)", r.model}];
      ++t.requests;
      t.errors += r.status >= 400;
      t.prompt += r.prompt_tokens;
      t.completion += r.completion_tokens;
    }
    fmt::print("{:<20} {:<24} {:>9} {:>7} {:>14} {:>17} {:>12}\n", "key", "model", "requests", "errors",
               "prompt_tokens", "completion_tokens", "total");
    for (const auto& [k, t] : totals) {
      fmt::print("{:<20} {:<24} {:>9} {:>7} {:>14} {:>17} {:>12}\n", k.first, k.second, t.requests, t.errors, t.prompt,
                 t.completion, t.prompt + t.completion);
    }
  });
}

}  // namespace forge::cli
