#include "data/csv.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <set>

#include "data/gzip.h"
#include "data/transforms.h"

namespace forge {

namespace {

using json = nlohmann::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool parse_double(std::string_view s, double& value) {
  s = trim(s);
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), value);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::string printable(char c) {
  if (c >= 0x20 && c < 0x7f) return std::string(1, c);
  return fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
}

}  // namespace

// ---------------------------------------------------------------- parsing

int64_t CsvTable::column_index(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i] == column) return static_cast<int64_t>(i);
  }
  fail("[csv] {}: no column named '{}' (columns: {})", name, column, fmt::join(columns, ", "));
}

CsvTable parse_csv(std::string_view text, const std::string& name, const CsvParseOptions& options) {
  const char delim = options.delimiter;
  FORGE_CHECK(delim != '"' && delim != '\n' && delim != '\r', "[csv] delimiter cannot be a quote or a line break");
  const bool whitespace_delim = delim == ' ' || delim == '\t';
  CsvTable table;
  table.name = name;
  size_t i = 0;
  const size_t n = text.size();
  if (n >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // UTF-8 byte order mark
  int64_t line = 1;
  size_t line_start = i;
  auto column = [&](size_t pos) { return static_cast<int64_t>(pos - line_start) + 1; };
  auto at_line_end = [&](size_t pos) {
    return pos >= n || text[pos] == '\n' || (text[pos] == '\r' && pos + 1 < n && text[pos + 1] == '\n');
  };
  auto skip_line_end = [&] {
    if (i < n) {
      i += text[i] == '\r' ? 2 : 1;
      ++line;
      line_start = i;
    }
  };
  bool have_header = !options.header;
  size_t expected = 0;
  std::vector<std::string> fields;
  while (i < n) {
    // Blank lines (also whitespace-only ones, unless whitespace separates fields) are skipped.
    size_t j = i;
    if (!whitespace_delim) {
      while (j < n && (text[j] == ' ' || text[j] == '\t')) ++j;
    }
    if (at_line_end(j)) {
      i = j;
      skip_line_end();
      continue;
    }
    const int64_t record_line = line;
    fields.clear();
    while (true) {
      std::string field;
      if (i < n && text[i] == '"') {
        const int64_t quote_line = line, quote_column = column(i);
        ++i;
        while (true) {
          FORGE_CHECK(i < n, "[csv] {}:{}:{}: unterminated quoted field", name, quote_line, quote_column);
          const char c = text[i];
          if (c == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          field += c;
          ++i;
          if (c == '\n') {
            ++line;
            line_start = i;
          }
        }
        FORGE_CHECK(i >= n || text[i] == delim || at_line_end(i),
                    "[csv] {}:{}:{}: unexpected character '{}' after a closing quote (quote the whole field)", name,
                    line, column(i), printable(text[i]));
      } else {
        while (i < n && text[i] != delim && !at_line_end(i)) {
          FORGE_CHECK(text[i] != '"',
                      "[csv] {}:{}:{}: quote inside an unquoted field (quote the whole field and double the quote)",
                      name, line, column(i));
          field += text[i];
          ++i;
        }
      }
      fields.push_back(std::move(field));
      if (i < n && text[i] == delim) {
        ++i;
        continue;
      }
      break;
    }
    skip_line_end();
    if (!have_header) {
      have_header = true;
      std::set<std::string> seen;
      for (size_t c = 0; c < fields.size(); ++c) {
        std::string column_name(trim(fields[c]));
        FORGE_CHECK(!column_name.empty(), "[csv] {}:{}: header column {} has no name", name, record_line, c + 1);
        FORGE_CHECK(seen.insert(column_name).second, "[csv] {}:{}: header names column '{}' twice", name, record_line,
                    column_name);
        table.columns.push_back(std::move(column_name));
      }
      expected = fields.size();
      continue;
    }
    if (table.columns.empty()) {  // no header: the first row fixes the column count
      expected = fields.size();
      for (size_t c = 0; c < expected; ++c) table.columns.push_back(fmt::format("column_{}", c));
    }
    FORGE_CHECK(fields.size() == expected, "[csv] {}:{}: expected {} fields, found {}", name, record_line, expected,
                fields.size());
    table.rows.push_back(fields);
    table.lines.push_back(record_line);
  }
  FORGE_CHECK(have_header && !table.columns.empty(), "[csv] {}: the file is empty (no header row)", name);
  return table;
}

CsvTable read_csv_table(const std::string& path, const CsvParseOptions& options) {
  auto source = open_file_decompressed(path);
  return parse_csv(std::string_view(reinterpret_cast<const char*>(source->data()), source->size()), path, options);
}

// ---------------------------------------------------------------- schema

const char* column_type_name(ColumnType type) {
  switch (type) {
    case ColumnType::kAuto: return "auto";
    case ColumnType::kNumeric: return "numeric";
    case ColumnType::kCategorical: return "categorical";
    case ColumnType::kIgnore: return "ignore";
  }
  return "?";
}

namespace {

ColumnType column_type_from_name(const std::string& name) {
  for (ColumnType t : {ColumnType::kNumeric, ColumnType::kCategorical, ColumnType::kIgnore}) {
    if (name == column_type_name(t)) return t;
  }
  fail("[csv] schema JSON has unknown column type '{}' (numeric, categorical, ignore)", name);
}

}  // namespace

std::vector<std::string> CsvSchema::feature_names() const {
  std::vector<std::string> names;
  for (const auto& c : columns) {
    if (c.type == ColumnType::kNumeric ||
        (c.type == ColumnType::kCategorical && encoding == CategoricalEncoding::kLabel)) {
      names.push_back(c.name);
    } else if (c.type == ColumnType::kCategorical) {
      for (const auto& cat : c.categories) names.push_back(c.name + "=" + cat);
    }
  }
  return names;
}

json CsvSchema::to_json() const {
  json cols = json::array();
  for (const auto& c : columns) {
    json col = {{"name", c.name}, {"type", column_type_name(c.type)}};
    if (c.type == ColumnType::kCategorical) col["categories"] = c.categories;
    cols.push_back(col);
  }
  return {{"columns", cols},
          {"target", target},
          {"classification", classification},
          {"labels", labels},
          {"encoding", encoding == CategoricalEncoding::kOneHot ? "one_hot" : "label"}};
}

CsvSchema CsvSchema::from_json(const json& j) {
  try {
    CsvSchema s;
    for (const auto& col : j.at("columns")) {
      CsvColumn c;
      c.name = col.at("name").get<std::string>();
      c.type = column_type_from_name(col.at("type").get<std::string>());
      if (c.type == ColumnType::kCategorical) c.categories = col.at("categories").get<std::vector<std::string>>();
      s.columns.push_back(std::move(c));
    }
    s.target = j.at("target").get<std::string>();
    s.classification = j.at("classification").get<bool>();
    s.labels = j.at("labels").get<std::vector<std::string>>();
    const std::string enc = j.at("encoding").get<std::string>();
    FORGE_CHECK(enc == "one_hot" || enc == "label", "[csv] schema JSON has unknown encoding '{}'", enc);
    s.encoding = enc == "one_hot" ? CategoricalEncoding::kOneHot : CategoricalEncoding::kLabel;
    return s;
  } catch (const json::exception& e) {
    fail("[csv] invalid schema JSON: {}", e.what());
  }
}

// ---------------------------------------------------------------- encoding

TabularData encode_table(const CsvTable& table, const CsvOptions& options, const CsvSchema* given) {
  const std::string& file = table.name;
  std::set<std::string> missing_tokens(options.missing_values.begin(), options.missing_values.end());
  auto is_missing = [&](const std::string& v) { return missing_tokens.count(std::string(trim(v))) > 0; };

  // Target column.
  int64_t target = -1;
  if (given) {
    if (!given->target.empty()) {
      for (int64_t c = 0; c < table.num_columns(); ++c) {
        if (table.columns[static_cast<size_t>(c)] == given->target) target = c;
      }
    }
  } else {
    FORGE_CHECK(options.target.empty() || !options.target_index, "[csv] {}: set target or target_index, not both",
                file);
    if (!options.target.empty()) target = table.column_index(options.target);
    if (options.target_index) {
      target = *options.target_index;
      FORGE_CHECK(target >= 0 && target < table.num_columns(), "[csv] {}: target_index {} out of range ({} columns)",
                  file, target, table.num_columns());
    }
  }

  // Feature columns: (table column, schema column).
  CsvSchema schema;
  std::vector<int64_t> source;  // table column of each schema column
  if (given) {
    schema = *given;
    for (const auto& col : schema.columns) {
      int64_t found = -1;
      for (int64_t c = 0; c < table.num_columns(); ++c) {
        if (table.columns[static_cast<size_t>(c)] == col.name) found = c;
      }
      FORGE_CHECK(found >= 0 || col.type == ColumnType::kIgnore,
                  "[csv] {}: column '{}' of the schema is missing (columns: {})", file, col.name,
                  fmt::join(table.columns, ", "));
      source.push_back(found);
    }
  } else {
    for (const auto& [column_name, type] : options.column_types) {
      table.column_index(column_name);  // throws for an unknown name
      (void)type;
    }
    for (int64_t c = 0; c < table.num_columns(); ++c) {
      if (c == target) continue;
      CsvColumn col;
      col.name = table.columns[static_cast<size_t>(c)];
      auto it = options.column_types.find(col.name);
      col.type = it == options.column_types.end() ? ColumnType::kAuto : it->second;
      schema.columns.push_back(col);
      source.push_back(c);
    }
    schema.target = target >= 0 ? table.columns[static_cast<size_t>(target)] : "";
    schema.encoding = options.categorical_encoding;
  }

  // Rows to keep (missing-value policy).
  std::vector<size_t> keep;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    bool drop = false;
    auto check = [&](int64_t c) {
      if (c < 0 || !is_missing(row[static_cast<size_t>(c)])) return;
      const bool is_target = c == target;
      FORGE_CHECK(options.missing != MissingPolicy::kError && !(is_target && options.missing == MissingPolicy::kNaN),
                  "[csv] {}:{}: missing value in {} '{}' (CsvOptions::missing can drop such rows{})", file,
                  table.lines[r], is_target ? "target column" : "column", table.columns[static_cast<size_t>(c)],
                  is_target ? "" : " or read them as NaN");
      if (options.missing == MissingPolicy::kDropRow) drop = true;
    };
    for (size_t k = 0; k < schema.columns.size(); ++k) {
      if (schema.columns[k].type != ColumnType::kIgnore) check(source[k]);
    }
    check(target);
    if (!drop) keep.push_back(r);
  }
  FORGE_CHECK(!keep.empty(), "[csv] {}: no data rows{}", file,
              table.rows.empty() ? "" : " left after dropping rows with missing values");

  // Resolve types and vocabularies (inference only).
  if (!given) {
    for (size_t k = 0; k < schema.columns.size(); ++k) {
      CsvColumn& col = schema.columns[k];
      if (col.type == ColumnType::kIgnore) continue;
      const size_t c = static_cast<size_t>(source[k]);
      std::vector<std::string> values;
      bool numeric = true;
      for (size_t r : keep) {
        const std::string& v = table.rows[r][c];
        if (is_missing(v)) continue;
        double d;
        if (!parse_double(v, d)) {
          FORGE_CHECK(col.type != ColumnType::kNumeric, "[csv] {}:{}: column '{}' is numeric but has value '{}'", file,
                      table.lines[r], col.name, v);
          numeric = false;
        }
        values.emplace_back(trim(v));
      }
      if (col.type == ColumnType::kAuto) col.type = numeric ? ColumnType::kNumeric : ColumnType::kCategorical;
      if (col.type == ColumnType::kCategorical) col.categories = LabelEncoder::sorted_unique(std::move(values));
    }
    if (target >= 0) {
      std::vector<std::string> values;
      bool numeric = true, integral = true;
      for (size_t r : keep) {
        const std::string& v = table.rows[r][static_cast<size_t>(target)];
        double d = 0;
        if (!parse_double(v, d)) {
          numeric = false;
        } else if (d != std::floor(d) || !std::isfinite(d)) {
          integral = false;
        }
        values.emplace_back(trim(v));
      }
      auto labels = LabelEncoder::sorted_unique(values);
      switch (options.target_type) {
        case TargetType::kAuto: schema.classification = !numeric || (integral && labels.size() <= 32); break;
        case TargetType::kClassification: schema.classification = true; break;
        case TargetType::kRegression:
          FORGE_CHECK(numeric, "[csv] {}: target column '{}' has non-numeric values; it cannot be a regression target",
                      file, schema.target);
          schema.classification = false;
          break;
      }
      if (schema.classification) schema.labels = std::move(labels);
    }
  }

  // Encode x.
  const auto names = schema.feature_names();
  const int64_t rows = static_cast<int64_t>(keep.size()), features = static_cast<int64_t>(names.size());
  FORGE_CHECK(features > 0, "[csv] {}: no feature columns left (all are the target or ignored)", file);
  TabularData out;
  out.x = zeros({rows, features});
  float* x = out.x.data<float>();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t i = 0; i < rows; ++i) {
    const size_t r = keep[static_cast<size_t>(i)];
    const auto& row = table.rows[r];
    int64_t j = 0;
    for (size_t k = 0; k < schema.columns.size(); ++k) {
      const CsvColumn& col = schema.columns[k];
      if (col.type == ColumnType::kIgnore) continue;
      const std::string& v = row[static_cast<size_t>(source[k])];
      const bool missing = is_missing(v);
      float* dst = x + i * features + j;
      if (col.type == ColumnType::kNumeric) {
        double d = 0;
        if (missing) {
          *dst = nan;
        } else {
          FORGE_CHECK(parse_double(v, d), "[csv] {}:{}: column '{}' is numeric but has value '{}'", file,
                      table.lines[r], col.name, v);
          *dst = static_cast<float>(d);
        }
        j += 1;
        continue;
      }
      int64_t code = -1;
      if (!missing) {
        const std::string_view value = trim(v);
        for (size_t c = 0; c < col.categories.size(); ++c) {
          if (col.categories[c] == value) code = static_cast<int64_t>(c);
        }
        FORGE_CHECK(code >= 0, "[csv] {}:{}: column '{}' has category '{}' not in the schema (known: {})", file,
                    table.lines[r], col.name, value, fmt::join(col.categories, ", "));
      }
      if (schema.encoding == CategoricalEncoding::kLabel) {
        *dst = missing ? nan : static_cast<float>(code);
        j += 1;
      } else {
        if (code >= 0) dst[code] = 1.0f;
        j += static_cast<int64_t>(col.categories.size());
      }
    }
    out.lines.push_back(table.lines[r]);
  }

  // Encode y.
  if (target >= 0) {
    if (schema.classification) {
      out.y = empty({rows}, DType::kI64);
      int64_t* y = out.y.data<int64_t>();
      for (int64_t i = 0; i < rows; ++i) {
        const size_t r = keep[static_cast<size_t>(i)];
        const std::string_view value = trim(table.rows[r][static_cast<size_t>(target)]);
        int64_t id = -1;
        for (size_t c = 0; c < schema.labels.size(); ++c) {
          if (schema.labels[c] == value) id = static_cast<int64_t>(c);
        }
        FORGE_CHECK(id >= 0, "[csv] {}:{}: target '{}' has label '{}' not in the schema (known: {})", file,
                    table.lines[r], schema.target, value, fmt::join(schema.labels, ", "));
        y[i] = id;
      }
    } else {
      out.y = empty({rows});
      float* y = out.y.data<float>();
      for (int64_t i = 0; i < rows; ++i) {
        const size_t r = keep[static_cast<size_t>(i)];
        double d = 0;
        FORGE_CHECK(parse_double(table.rows[r][static_cast<size_t>(target)], d),
                    "[csv] {}:{}: target '{}' is numeric but has value '{}'", file, table.lines[r], schema.target,
                    table.rows[r][static_cast<size_t>(target)]);
        y[i] = static_cast<float>(d);
      }
    }
  }
  out.feature_names = names;
  out.label_names = schema.labels;
  out.schema = std::move(schema);
  return out;
}

TabularData read_csv(const std::string& path, const CsvOptions& options) {
  return encode_table(read_csv_table(path, {options.delimiter, options.header}), options, nullptr);
}

TabularData read_csv_with_schema(const std::string& path, const CsvSchema& schema, const CsvOptions& options) {
  return encode_table(read_csv_table(path, {options.delimiter, options.header}), options, &schema);
}

}  // namespace forge
