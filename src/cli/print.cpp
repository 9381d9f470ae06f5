// Text formatting of metrics and confusion matrices for the CLI.
#include "cli/print.h"

#include <fmt/format.h>

#include <algorithm>

namespace forge::cli {

std::string format_metrics(const std::map<std::string, double>& metrics) {
  std::string out;
  auto add = [&](const std::string& k, double v) { out += fmt::format("{}{} {:.4f}", out.empty() ? "" : "  ", k, v); };
  if (auto it = metrics.find("loss"); it != metrics.end()) add(it->first, it->second);
  for (const auto& [k, v] : metrics) {
    if (k != "loss") add(k, v);
  }
  return out;
}

std::string format_confusion(const Tensor& confusion, const std::vector<std::string>& labels) {
  const Tensor cm = confusion.to(DType::kI64).contiguous();
  const int64_t c = cm.size(0);
  const int64_t* v = cm.data<int64_t>();
  auto name = [&](int64_t i) { return i < static_cast<int64_t>(labels.size()) ? labels[i] : std::to_string(i); };
  size_t name_width = 4;
  int64_t max_count = 0;
  for (int64_t i = 0; i < c; ++i) name_width = std::max(name_width, name(i).size());
  for (int64_t i = 0; i < c * c; ++i) max_count = std::max(max_count, v[i]);
  const size_t w = std::max<size_t>(4, fmt::format("{}", max_count).size()) + 1;
  std::string out = fmt::format("{:>{}}  predicted ->\n{:>{}} ", "true", name_width, "", name_width);
  for (int64_t j = 0; j < c; ++j) out += fmt::format("{:>{}}", j, w);
  out += "\n";
  for (int64_t i = 0; i < c; ++i) {
    out += fmt::format("{:>{}} ", name(i), name_width);
    for (int64_t j = 0; j < c; ++j) out += fmt::format("{:>{}}", v[i * c + j], w);
    out += fmt::format("   ({})\n", i);
  }
  return out;
}

}  // namespace forge::cli
