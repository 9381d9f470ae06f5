// `forge keys create|list|revoke|rotate`: API keys of `forge serve` (a SQLite file or a
// postgresql:// URL, see open_keystore). Secrets are printed once, by create and rotate; only
// their salted hashes are stored.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "serve/keystore.h"

namespace forge::cli {

namespace {

std::string limit_str(int64_t v) { return v > 0 ? std::to_string(v) : std::string("-"); }

void print_key(const serve::ApiKey& k) {
  fmt::print("{:<4} {:<16} {:<20} {:<24} {:>8} {:>10} {:>14}  {}\n", k.id, k.public_id, k.name,
             fmt::format("{}", fmt::join(k.scopes, ",")), limit_str(k.rpm), limit_str(k.tpm),
             limit_str(k.monthly_tokens),
             k.revoked_ms ? "revoked " + serve::format_time_ms(k.revoked_ms) : std::string("active"));
}

}  // namespace

void register_keys(CLI::App& app) {
  struct Args {
    std::string db = "forge-keys.db";
    std::string name, scopes = "inference", who;
    int64_t rpm = 0, tpm = 0, monthly = 0;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("keys", "Manage API keys of forge serve (create, list, revoke, rotate)");
  cmd->require_subcommand(1);
  cmd->add_option("--db,--keys", a->db, "key store: SQLite file or postgresql:// URL (the --keys of forge serve)")
      ->capture_default_str();

  auto* create = cmd->add_subcommand("create", "Create a key; its secret is printed once");
  create->add_option("--name", a->name, "a unique name (customer, app)")->required();
  create->add_option("--scopes", a->scopes, "comma-separated: inference, metrics, admin")->capture_default_str();
  create->add_option("--rpm", a->rpm, "requests per minute (0 = unlimited)");
  create->add_option("--tpm", a->tpm, "tokens per minute (0 = unlimited)");
  create->add_option("--monthly-tokens", a->monthly, "tokens per calendar month, UTC (0 = unlimited)");
  create->add_option("--db,--keys", a->db, "key store: SQLite file or postgresql:// URL");
  create->callback([a] {
    auto store = serve::open_keystore(a->db);
    serve::NewKey spec;
    spec.name = a->name;
    spec.scopes = serve::parse_scopes(a->scopes);
    spec.rpm = a->rpm;
    spec.tpm = a->tpm;
    spec.monthly_tokens = a->monthly;
    auto [key, secret] = store->create_key(spec);
    std::cerr << fmt::format("created key {} '{}' (scopes {}); the secret is shown only now:\n", key.id, key.name,
                             fmt::join(key.scopes, ","));
    std::cout << secret << std::endl;
  });

  auto* list = cmd->add_subcommand("list", "List keys (never their secrets)");
  list->add_option("--db,--keys", a->db, "key store: SQLite file or postgresql:// URL");
  list->callback([a] {
    auto store = serve::open_keystore(a->db);
    fmt::print("{:<4} {:<16} {:<20} {:<24} {:>8} {:>10} {:>14}  {}\n", "id", "public id", "name", "scopes", "rpm",
               "tpm", "monthly", "status");
    for (const auto& k : store->list_keys()) print_key(k);
  });

  auto* revoke = cmd->add_subcommand("revoke", "Revoke a key (its ledger rows stay)");
  revoke->add_option("key", a->who, "id, public id or name")->required();
  revoke->add_option("--db,--keys", a->db, "key store: SQLite file or postgresql:// URL");
  revoke->callback([a] {
    auto store = serve::open_keystore(a->db);
    auto k = store->revoke_key(a->who);
    fmt::print("revoked key {} '{}'\n", k.id, k.name);
  });

  auto* rotate = cmd->add_subcommand("rotate", "Give a key a new secret (the old one stops working); printed once");
  rotate->add_option("key", a->who, "id, public id or name")->required();
  rotate->add_option("--db,--keys", a->db, "key store: SQLite file or postgresql:// URL");
  rotate->callback([a] {
    auto store = serve::open_keystore(a->db);
    auto [key, secret] = store->rotate_key(a->who);
    std::cerr << fmt::format("rotated key {} '{}'; the new secret is shown only now:\n", key.id, key.name);
    std::cout << secret << std::endl;
  });
}

}  // namespace forge::cli
