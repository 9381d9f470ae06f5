// Admin-scoped key management and usage export:
//   GET  /admin/keys                      list keys (never secrets)
//   POST /admin/keys                      {"name", "scopes": [..], "rpm", "tpm", "monthly_tokens"} -> key + secret
//   (once) POST /admin/keys/{id|name}/revoke POST /admin/keys/{id|name}/rotate     -> key + new secret (once) GET
//   /admin/usage?key=&since=         ledger rows (JSON), or CSV with ?format=csv
#include <fmt/format.h>

#include "serve/server_impl.h"

namespace forge::serve {

using nlohmann::json;

json key_json(const ApiKey& k) {
  return {{"id", k.id},
          {"public_id", k.public_id},
          {"name", k.name},
          {"scopes", k.scopes},
          {"rpm", k.rpm},
          {"tpm", k.tpm},
          {"monthly_tokens", k.monthly_tokens},
          {"created", format_time_ms(k.created_ms)},
          {"revoked", k.revoked_ms ? json(format_time_ms(k.revoked_ms)) : json(nullptr)}};
}

std::string usage_csv(const std::vector<UsageRow>& rows) {
  std::string out = "time,key_id,model,endpoint,prompt_tokens,completion_tokens,latency_ms,status\n";
  for (const auto& r : rows) {
    out += fmt::format("{},{},{},{},{},{},{:.3f},{}\n", format_time_ms(r.time_ms), r.key_id, r.model, r.endpoint,
                       r.prompt_tokens, r.completion_tokens, r.latency_ms, r.status);
  }
  return out;
}

void Server::Impl::register_admin_routes() {
  auto need_store = [this] {
    if (!keys)
      throw ApiError(404, "invalid_request_error", "This server runs without a key store (--keys).", "no_keys");
  };
  http->Get("/admin/keys", [this, need_store](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/admin/keys", [&](RequestRecord& rec) {
      need_store();
      rec.key = authorize(req, kScopeAdmin);
      json data = json::array();
      for (const auto& k : keys->list_keys()) data.push_back(key_json(k));
      send_json(res, 200, {{"object", "list"}, {"data", data}});
      return true;
    });
  });
  http->Post("/admin/keys", [this, need_store](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/admin/keys", [&](RequestRecord& rec) {
      need_store();
      rec.key = authorize(req, kScopeAdmin);
      json body = parse_body(req);
      if (!body.is_object() || !body.contains("name") || !body["name"].is_string()) {
        bad_request("'name' (a string) is required.", "name");
      }
      NewKey spec;
      spec.name = body["name"].get<std::string>();
      if (body.contains("scopes")) {
        std::string scopes;
        if (!body["scopes"].is_array()) bad_request("'scopes' must be an array of strings.", "scopes");
        for (const auto& s : body["scopes"]) {
          if (!s.is_string()) bad_request("'scopes' must be an array of strings.", "scopes");
          scopes += s.get<std::string>() + ",";
        }
        spec.scopes = parse_scopes(scopes);
      }
      for (auto [name, field] :
           {std::pair{"rpm", &spec.rpm}, {"tpm", &spec.tpm}, {"monthly_tokens", &spec.monthly_tokens}}) {
        if (body.contains(name)) {
          if (!body[name].is_number_integer()) bad_request(fmt::format("'{}' must be an integer.", name), name);
          *field = body[name].get<int64_t>();
        }
      }
      auto [key, secret] = keys->create_key(spec);
      json out = key_json(key);
      out["secret"] = secret;
      send_json(res, 201, out);
      return true;
    });
  });
  http->Post(R"(/admin/keys/([^/]+)/(revoke|rotate))",
             [this, need_store](const httplib::Request& req, httplib::Response& res) {
               handle(req, res, "/admin/keys", [&](RequestRecord& rec) {
                 need_store();
                 rec.key = authorize(req, kScopeAdmin);
                 std::string who = req.matches[1];
                 if (!keys->find_key(who)) {
                   throw ApiError(404, "invalid_request_error", fmt::format("No key '{}'.", who), "key_not_found");
                 }
                 if (req.matches[2] == "revoke") {
                   send_json(res, 200, key_json(keys->revoke_key(who)));
                 } else {
                   auto [key, secret] = keys->rotate_key(who);
                   json out = key_json(key);
                   out["secret"] = secret;
                   send_json(res, 200, out);
                 }
                 return true;
               });
             });
  http->Get("/admin/usage", [this, need_store](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/admin/usage", [&](RequestRecord& rec) {
      need_store();
      rec.key = authorize(req, kScopeAdmin);
      UsageFilter f;
      if (req.has_param("key")) {
        auto k = keys->find_key(req.get_param_value("key"));
        if (!k) throw ApiError(404, "invalid_request_error", "No such key.", "key_not_found", "key");
        f.key_id = k->id;
      }
      if (req.has_param("since")) f.since_ms = parse_since(req.get_param_value("since"));
      auto rows = keys->usage(f);
      if (req.get_param_value("format") == "csv") {
        res.set_content(usage_csv(rows), "text/csv");
        return true;
      }
      json data = json::array();
      for (const auto& r : rows) {
        data.push_back({{"time", format_time_ms(r.time_ms)},
                        {"key_id", r.key_id},
                        {"model", r.model},
                        {"endpoint", r.endpoint},
                        {"prompt_tokens", r.prompt_tokens},
                        {"completion_tokens", r.completion_tokens},
                        {"latency_ms", r.latency_ms},
                        {"status", r.status}});
      }
      send_json(res, 200, {{"object", "list"}, {"data", data}});
      return true;
    });
  });
}

}  // namespace forge::serve
