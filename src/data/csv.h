#pragma once
// CSV files: a strict RFC 4180 parser (quoted fields with "" escapes and embedded newlines,
// LF or CRLF line ends, optional header row, blank lines skipped, UTF-8 BOM skipped) and a
// typed reader that turns a table into a feature matrix and a target.
//
// Errors name the file and line (and column for character-level problems):
//   "[csv] data.csv:17: expected 9 fields, found 8"
//   "[csv] data.csv:4:12: unterminated quoted field"
//
// Category vocabularies and target labels are recorded in a CsvSchema; read the validation,
// test or prediction file with that schema so it is encoded exactly like the training file,
// and save schema.to_json() with the model. Statistics (scaling) are NOT computed here: fit
// a StandardScaler/Pipeline (data/transforms.h) on the training split.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/tensor.h"

namespace forge {

struct CsvParseOptions {
  char delimiter = ',';
  bool header = true;  // first non-blank row holds the column names
};

// A parsed CSV file: strings, one row per record.
struct CsvTable {
  std::string name;                            // file name, for messages
  std::vector<std::string> columns;            // header names, or "column_0", "column_1", ...
  std::vector<std::vector<std::string>> rows;  // each has columns.size() fields
  std::vector<int64_t> lines;                  // 1-based line on which each row starts
  int64_t num_rows() const { return static_cast<int64_t>(rows.size()); }
  int64_t num_columns() const { return static_cast<int64_t>(columns.size()); }
  // Index of the column named `name`; throws listing the known names when there is none.
  int64_t column_index(std::string_view name) const;
};

// Parses CSV text; `name` is used in error messages.
CsvTable parse_csv(std::string_view text, const std::string& name, const CsvParseOptions& options = {});
// Reads a CSV file (gzip'd files are decompressed) through open_file().
CsvTable read_csv_table(const std::string& path, const CsvParseOptions& options = {});

enum class ColumnType {
  kAuto,  // numeric if every present value parses as a number, else categorical
  kNumeric,
  kCategorical,
  kIgnore,  // left out of x
};
enum class CategoricalEncoding {
  kOneHot,  // one 0/1 column per category, named "column=category"
  kLabel,   // one column holding the category index (0..K-1, in LabelEncoder order)
};
enum class TargetType {
  kAuto,            // classification if any value is not a number, or all are integers with
                    // at most 32 distinct values; else regression
  kClassification,  // y: int64 class ids, label names in sorted order
  kRegression,      // y: float32 values
};
enum class MissingPolicy {
  kError,    // a missing value is an error naming its line and column (default)
  kDropRow,  // rows with any missing value (in a used column) are skipped
  kNaN,      // numeric: NaN; categorical: NaN with label encoding, all zeros with one-hot
};

const char* column_type_name(ColumnType type);

struct CsvOptions {
  char delimiter = ',';
  bool header = true;
  // The target column, by name or by 0-based index; neither: no target (y undefined).
  std::string target{};
  std::optional<int64_t> target_index{};
  TargetType target_type = TargetType::kAuto;
  // Per-column overrides by name (others are kAuto).
  std::map<std::string, ColumnType> column_types{};
  CategoricalEncoding categorical_encoding = CategoricalEncoding::kOneHot;
  MissingPolicy missing = MissingPolicy::kError;
  // Field values (after trimming spaces) that mean "missing".
  std::vector<std::string> missing_values = {"", "NA", "N/A", "NaN", "nan", "null", "?"};
};

struct CsvColumn {
  std::string name;
  ColumnType type = ColumnType::kNumeric;  // resolved: never kAuto
  std::vector<std::string> categories;     // categorical columns: the vocabulary, in code order
};

// How a file's columns map to x and y: column types, category vocabularies, target labels.
struct CsvSchema {
  std::vector<CsvColumn> columns;  // every file column except the target, in file order
  std::string target;              // target column name ("" when none)
  bool classification = false;
  std::vector<std::string> labels;  // class names, index = class id
  CategoricalEncoding encoding = CategoricalEncoding::kOneHot;

  std::vector<std::string> feature_names() const;  // the columns of x
  nlohmann::json to_json() const;
  static CsvSchema from_json(const nlohmann::json& json);
};

struct TabularData {
  Tensor x;                                // [N, F] float32
  Tensor y;                                // [N] int64 class ids or [N] float32 values; undefined without a target
  std::vector<std::string> feature_names;  // F names
  std::vector<std::string> label_names;    // class names (classification)
  CsvSchema schema;
  std::vector<int64_t> lines;  // source line of each row of x
};

// Reads a CSV file, infers column types and vocabularies, and encodes it.
TabularData read_csv(const std::string& path, const CsvOptions& options = {});
// Reads a file with the columns and encoding of an existing schema (match by column name when
// the file has a header). A missing target column gives an undefined y (prediction input).
// Unknown categories or labels are errors naming the line.
TabularData read_csv_with_schema(const std::string& path, const CsvSchema& schema, const CsvOptions& options = {});
// The same, from an already parsed table. `schema` may be null (infer).
TabularData encode_table(const CsvTable& table, const CsvOptions& options, const CsvSchema* schema = nullptr);

}  // namespace forge
