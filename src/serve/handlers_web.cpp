// The web playground (GET / and /playground/*, static files embedded in the binary) and
// GET /v1/usage, the calling key's own usage for the playground's dashboard.
#include <map>

#include "serve/server_impl.h"
#include "serve/web_assets.h"

namespace forge::serve {

using nlohmann::json;

void Server::Impl::register_web_routes() {
  for (const WebAsset& asset : web_assets()) {
    http->Get(std::string(asset.url), [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(asset.data.data(), asset.data.size(), std::string(asset.content_type).c_str());
      res.set_header("Cache-Control", "no-cache");
    });
  }

  http->Get("/v1/usage", [this](const httplib::Request& req, httplib::Response& res) {
    handle(req, res, "/v1/usage", [&](RequestRecord& rec) {
      rec.key = authorize(req, kScopeInference);
      int64_t days = 7;
      if (req.has_param("days")) {
        const std::string d = req.get_param_value("days");
        char* end = nullptr;
        days = std::strtoll(d.c_str(), &end, 10);
        if (d.empty() || *end != '\0' || days < 1 || days > 366)
          throw ApiError(400, "invalid_request_error", "'days' must be an integer from 1 to 366.", "invalid_value",
                         "days");
      }
      json out = {{"object", "usage"}, {"days", days}, {"metering", keys != nullptr}, {"key", nullptr},
                  {"month_tokens", 0}, {"data", json::array()}, {"daily", json::array()},
                  {"totals", {{"requests", 0}, {"prompt_tokens", 0}, {"completion_tokens", 0}}}};
      if (!keys || !rec.key) {  // no key store: nothing is metered
        send_json(res, 200, out);
        return true;
      }
      const ApiKey& k = *rec.key;
      out["key"] = {{"name", k.name}, {"public_id", k.public_id}, {"rpm", k.rpm}, {"tpm", k.tpm},
                    {"monthly_tokens", k.monthly_tokens}};
      const int64_t now = now_ms();
      out["month_tokens"] = keys->tokens_used(k.id, month_start_ms(now));
      UsageFilter f;
      f.key_id = k.id;
      f.since_ms = now - days * 86400000LL;
      std::map<std::string, std::array<int64_t, 3>> daily;  // day -> requests, prompt, completion
      int64_t requests = 0, prompt = 0, completion = 0;
      for (const auto& r : keys->usage(f)) {
        out["data"].push_back({{"time", format_time_ms(r.time_ms)}, {"model", r.model}, {"endpoint", r.endpoint},
                               {"prompt_tokens", r.prompt_tokens}, {"completion_tokens", r.completion_tokens},
                               {"latency_ms", r.latency_ms}, {"status", r.status}});
        auto& d = daily[format_time_ms(r.time_ms).substr(0, 10)];
        d[0] += 1;
        d[1] += r.prompt_tokens;
        d[2] += r.completion_tokens;
        ++requests;
        prompt += r.prompt_tokens;
        completion += r.completion_tokens;
      }
      for (const auto& [day, d] : daily)
        out["daily"].push_back({{"day", day}, {"requests", d[0]}, {"prompt_tokens", d[1]}, {"completion_tokens", d[2]}});
      out["totals"] = {{"requests", requests}, {"prompt_tokens", prompt}, {"completion_tokens", completion}};
      send_json(res, 200, out);
      return true;
    });
  });
}

}  // namespace forge::serve
