#include "serve/metrics.h"

#include <fmt/format.h>

namespace forge::serve {

std::string prom_escape(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

Metrics::Metrics() : buckets_{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60} {}

void Metrics::observe(std::map<std::string, Histogram>& h, const std::string& labels, double v) {
  Histogram& hist = h[labels];
  if (hist.counts.empty()) hist.counts.assign(buckets_.size(), 0);
  for (size_t i = 0; i < buckets_.size(); ++i) {
    if (v <= buckets_[i]) {
      ++hist.counts[i];
      break;
    }
  }
  hist.sum += v;
  ++hist.count;
}

void Metrics::observe_request(const std::string& endpoint, int status, double seconds) {
  std::string ep = prom_escape(endpoint);
  std::lock_guard lock(mu_);
  ++requests_[fmt::format("endpoint=\"{}\",status=\"{}\"", ep, status)];
  observe(latency_, fmt::format("endpoint=\"{}\"", ep), seconds);
}

void Metrics::add_tokens(const std::string& key, const std::string& model, int64_t prompt, int64_t completion) {
  std::string labels = fmt::format("key=\"{}\",model=\"{}\"", prom_escape(key), prom_escape(model));
  std::lock_guard lock(mu_);
  tokens_in_[labels] += static_cast<uint64_t>(prompt);
  tokens_out_[labels] += static_cast<uint64_t>(completion);
  ++key_requests_[fmt::format("key=\"{}\"", prom_escape(key))];
}

void Metrics::observe_time_to_first_token(const std::string& model, double seconds) {
  std::lock_guard lock(mu_);
  observe(ttft_, fmt::format("model=\"{}\"", prom_escape(model)), seconds);
}

void Metrics::set_gauge_source(std::function<std::vector<std::pair<std::string, double>>()> source) {
  std::lock_guard lock(mu_);
  gauges_ = std::move(source);
}

std::string Metrics::render() const {
  std::string out;
  auto counter = [&](const char* name, const char* help, const std::map<std::string, uint64_t>& m) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    for (const auto& [labels, v] : m) out += fmt::format("{}{{{}}} {}\n", name, labels, v);
  };
  auto histogram = [&](const char* name, const char* help, const std::map<std::string, Histogram>& m) {
    out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
    for (const auto& [labels, h] : m) {
      uint64_t cumulative = 0;
      for (size_t i = 0; i < buckets_.size(); ++i) {
        cumulative += h.counts[i];
        out += fmt::format("{}_bucket{{{},le=\"{}\"}} {}\n", name, labels, buckets_[i], cumulative);
      }
      out += fmt::format("{}_bucket{{{},le=\"+Inf\"}} {}\n", name, labels, h.count);
      out += fmt::format("{}_sum{{{}}} {}\n{}_count{{{}}} {}\n", name, labels, h.sum, name, labels, h.count);
    }
  };
  std::function<std::vector<std::pair<std::string, double>>()> gauges;
  {
    std::lock_guard lock(mu_);
    counter("forge_http_requests_total", "HTTP requests answered, by endpoint and status.", requests_);
    histogram("forge_http_request_duration_seconds", "HTTP request latency.", latency_);
    histogram("forge_time_to_first_token_seconds", "Time from request to the first generated token.", ttft_);
    counter("forge_prompt_tokens_total", "Prompt (input) tokens, by key and model.", tokens_in_);
    counter("forge_completion_tokens_total", "Completion (output) tokens, by key and model.", tokens_out_);
    counter("forge_key_requests_total", "Model requests, by key.", key_requests_);
    gauges = gauges_;
  }
  if (gauges) {
    // Each entry: "metric_name{labels}" -> value; HELP/TYPE lines once per metric name.
    std::string last;
    for (const auto& [series, v] : gauges()) {
      std::string name = series.substr(0, series.find('{'));
      if (name != last) {
        out += fmt::format("# TYPE {} gauge\n", name);
        last = name;
      }
      out += fmt::format("{} {}\n", series, v);
    }
  }
  return out;
}

}  // namespace forge::serve
