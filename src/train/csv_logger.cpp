#include "train/csv_logger.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <optional>

#include "core/error.h"

namespace forge {
namespace {

// RFC 4180 quoting, only where needed.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        fields.back() += '"', ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c != '\r') {
      fields.back() += c;
    }
  }
  return fields;
}

}  // namespace

CsvLogger::CsvLogger(const std::string& path, bool append) : path_(path) {
  bool needs_newline = false;
  if (append && std::filesystem::exists(path)) {
    std::ifstream in(path, std::ios::binary);
    FORGE_CHECK(in.good(), "[csv_logger] cannot read {}", path);
    std::string header;
    std::getline(in, header);
    if (!header.empty()) {
      std::vector<std::string> fields = split_csv_line(header);
      FORGE_CHECK(fields.front() == "epoch", "[csv_logger] {}: cannot append, its header starts with '{}', not 'epoch'",
                  path, fields.front());
      columns_.assign(fields.begin() + 1, fields.end());
      // A crash mid-row leaves no final newline; start the next row on its own line.
      in.clear();
      in.seekg(-1, std::ios::end);
      needs_newline = in.get() != '\n';
    }
  }
  out_.open(path, std::ios::binary | (columns_.empty() ? std::ios::trunc : std::ios::app));
  FORGE_CHECK(out_.is_open(), "[csv_logger] cannot open {} for writing", path);
  if (needs_newline) write_line("");
}

void CsvLogger::log(int64_t epoch, const std::vector<std::pair<std::string, double>>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    const std::string& name = values[i].first;
    FORGE_CHECK(!name.empty() && name != "epoch", "[csv_logger] column name '{}' is reserved or empty (epoch {})",
                name, epoch);
    for (size_t j = 0; j < i; ++j) {
      FORGE_CHECK(values[j].first != name, "[csv_logger] column '{}' appears twice in the row for epoch {}", name,
                  epoch);
    }
  }
  if (columns_.empty()) {
    FORGE_CHECK(!values.empty(), "[csv_logger] the first row (epoch {}) has no values to fix the columns", epoch);
    std::string header = "epoch";
    for (const auto& [name, value] : values) {
      columns_.push_back(name);
      header += ',';
      header += csv_field(name);
    }
    write_line(header);
  }
  std::vector<std::optional<double>> row(columns_.size());
  for (const auto& [name, value] : values) {
    const auto it = std::find(columns_.begin(), columns_.end(), name);
    FORGE_CHECK(it != columns_.end(), "[csv_logger] column '{}' (epoch {}) is not in the header: epoch,{}", name, epoch,
                fmt::join(columns_, ","));
    row[static_cast<size_t>(it - columns_.begin())] = value;
  }
  std::string line = std::to_string(epoch);
  for (const auto& cell : row) {
    line += ',';
    if (cell) line += fmt::format("{}", *cell);  // shortest round-trip representation
  }
  write_line(line);
}

void CsvLogger::write_line(const std::string& line) {
  out_ << line << '\n';
  out_.flush();
  FORGE_CHECK(out_.good(), "[csv_logger] {}: write failed", path_);
}

}  // namespace forge
