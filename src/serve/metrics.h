#pragma once
// Prometheus metrics of the server: counters and histograms keyed by label sets, rendered in the
// text exposition format (version 0.0.4) for GET /metrics. Thread-safe; one mutex (updates are a
// map lookup and an add, far cheaper than the request they describe).
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace forge::serve {

class Metrics {
 public:
  Metrics();
  // One finished HTTP request.
  void observe_request(const std::string& endpoint, int status, double seconds);
  // Tokens processed for a key ("" = no key) and model.
  void add_tokens(const std::string& key, const std::string& model, int64_t prompt, int64_t completion);
  void observe_time_to_first_token(const std::string& model, double seconds);
  // Gauges read at render time (queue depth, active slots per model).
  void set_gauge_source(std::function<std::vector<std::pair<std::string, double>>()> source);
  // The exposition text.
  std::string render() const;

 private:
  struct Histogram {
    std::vector<uint64_t> counts;  // per bucket (cumulative at render)
    double sum = 0;
    uint64_t count = 0;
  };
  void observe(std::map<std::string, Histogram>& h, const std::string& labels, double v);
  std::vector<double> buckets_;
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> requests_;  // labels -> count
  std::map<std::string, Histogram> latency_, ttft_;
  std::map<std::string, uint64_t> tokens_in_, tokens_out_;
  std::map<std::string, uint64_t> key_requests_;
  std::function<std::vector<std::pair<std::string, double>>()> gauges_;
};

// Escapes a Prometheus label value.
std::string prom_escape(const std::string& v);

}  // namespace forge::serve
