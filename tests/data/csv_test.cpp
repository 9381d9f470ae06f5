#include "data/csv.h"

#include <unistd.h>

#include "data/transforms.h"
#include "temp_files.h"
#include "test_util.h"

namespace forge {
namespace {

using test::write_temp;

TEST(CsvParse, QuotesCrlfBlankLinesAndBom) {
  const std::string text =
      "\xEF\xBB\xBFname,comment,value\r\n"
      "a,\"hello, world\",1\r\n"
      "\r\n"
      "   \n"
      "b,\"say \"\"hi\"\"\",2\n"
      "c,\"two\nlines\",3\n"
      "d,,4";  // no final line end, empty field
  const CsvTable t = parse_csv(text, "t.csv");
  ASSERT_EQ(t.columns, (std::vector<std::string>{"name", "comment", "value"}));
  ASSERT_EQ(t.num_rows(), 4);
  EXPECT_EQ(t.rows[0][1], "hello, world");
  EXPECT_EQ(t.rows[1][1], "say \"hi\"");
  EXPECT_EQ(t.rows[2][1], "two\nlines");
  EXPECT_EQ(t.rows[3][1], "");
  EXPECT_EQ(t.lines, (std::vector<int64_t>{2, 5, 6, 8}));
  EXPECT_EQ(t.column_index("value"), 2);
  EXPECT_THROW_MSG(t.column_index("nope"), "[csv] t.csv: no column named 'nope' (columns: name, comment, value)");
}

TEST(CsvParse, NoHeaderAndOtherDelimiter) {
  const CsvTable t = parse_csv("1;2\n3;4\n", "t.csv", {.delimiter = ';', .header = false});
  EXPECT_EQ(t.columns, (std::vector<std::string>{"column_0", "column_1"}));
  ASSERT_EQ(t.num_rows(), 2);
  EXPECT_EQ(t.rows[1][0], "3");
  // A trailing delimiter is an empty last field.
  const CsvTable u = parse_csv("a,b\n1,\n", "u.csv");
  EXPECT_EQ(u.rows[0], (std::vector<std::string>{"1", ""}));
}

TEST(CsvParse, MalformedFilesNameLineAndColumn) {
  EXPECT_THROW_MSG(parse_csv("a,b,c\n1,2,3\n\n4,5\n", "f.csv"), "[csv] f.csv:4: expected 3 fields, found 2");
  EXPECT_THROW_MSG(parse_csv("a,b\n1,2,3\n", "f.csv"), "[csv] f.csv:2: expected 2 fields, found 3");
  EXPECT_THROW_MSG(parse_csv("a,b\n1,\"open\n2,3\n", "f.csv"), "[csv] f.csv:2:3: unterminated quoted field");
  EXPECT_THROW_MSG(parse_csv("a,b\n1,\"x\"y\n", "f.csv"),
                   "[csv] f.csv:2:6: unexpected character 'y' after a closing quote");
  EXPECT_THROW_MSG(parse_csv("a,b\n1,x\"y\n", "f.csv"), "[csv] f.csv:2:4: quote inside an unquoted field");
  EXPECT_THROW_MSG(parse_csv("", "f.csv"), "[csv] f.csv: the file is empty (no header row)");
  EXPECT_THROW_MSG(parse_csv("\n\n", "f.csv"), "[csv] f.csv: the file is empty (no header row)");
  EXPECT_THROW_MSG(parse_csv("a,a\n1,2\n", "f.csv"), "[csv] f.csv:1: header names column 'a' twice");
  EXPECT_THROW_MSG(parse_csv("a,,c\n1,2,3\n", "f.csv"), "[csv] f.csv:1: header column 2 has no name");
  EXPECT_THROW_MSG(read_csv_table("/nonexistent/x.csv"), "[file] cannot open /nonexistent/x.csv");
}

const char* kPeople =
    "age,color,height,label\n"
    "30,red,1.5,yes\n"
    "40,green,1.7,no\n"
    "50,red,1.9,yes\n"
    "20,blue,1.6,no\n";

TEST(CsvRead, NumericCategoricalOneHotAndTargetLabels) {
  const auto path = write_temp("people.csv", kPeople);
  const TabularData d = read_csv(path, {.target = "label"});
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"age", "color=blue", "color=green", "color=red", "height"}));
  EXPECT_EQ(d.label_names, (std::vector<std::string>{"no", "yes"}));
  EXPECT_TRUE(test::all_close(
      d.x, from_vector({30, 0, 0, 1, 1.5f, 40, 0, 1, 0, 1.7f, 50, 0, 0, 1, 1.9f, 20, 1, 0, 0, 1.6f}, {4, 5})));
  EXPECT_EQ(d.y.dtype(), DType::kI64);
  EXPECT_EQ(d.y.to_vector<int64_t>(), (std::vector<int64_t>{1, 0, 1, 0}));
  EXPECT_TRUE(d.schema.classification);
  EXPECT_EQ(d.lines, (std::vector<int64_t>{2, 3, 4, 5}));
}

TEST(CsvRead, LabelEncodingTargetByIndexAndOverrides) {
  const auto path = write_temp("people.csv", kPeople);
  const TabularData d =
      read_csv(path, {.target_index = 0,
                      .target_type = TargetType::kRegression,
                      .column_types = {{"height", ColumnType::kIgnore}, {"label", ColumnType::kCategorical}},
                      .categorical_encoding = CategoricalEncoding::kLabel});
  EXPECT_EQ(d.feature_names, (std::vector<std::string>{"color", "label"}));
  EXPECT_TRUE(test::all_close(d.x, from_vector({2, 1, 1, 0, 2, 1, 0, 0}, {4, 2})));
  EXPECT_EQ(d.y.dtype(), DType::kF32);
  EXPECT_TRUE(test::all_close(d.y, from_vector({30, 40, 50, 20}, {4})));
  EXPECT_TRUE(d.label_names.empty());

  // A numeric column forced categorical: numeric ordering of categories ("9" < "10").
  const auto p2 = write_temp("codes.csv", "code,y\n10,1.5\n9,2.5\n10,3.5\n");
  const TabularData c = read_csv(p2, {.target = "y", .column_types = {{"code", ColumnType::kCategorical}}});
  EXPECT_EQ(c.feature_names, (std::vector<std::string>{"code=9", "code=10"}));
  EXPECT_FALSE(c.schema.classification);  // non-integer target -> regression
}

TEST(CsvRead, ErrorsNameFileLineAndColumn) {
  const auto path = write_temp("bad.csv", "a,b,y\n1,2,0\n3,x,1\n");
  EXPECT_THROW_MSG(read_csv(path, {.target = "y", .column_types = {{"b", ColumnType::kNumeric}}}),
                   "bad.csv:3: column 'b' is numeric but has value 'x'");
  EXPECT_THROW_MSG(read_csv(path, {.target = "nope"}), "no column named 'nope' (columns: a, b, y)");
  EXPECT_THROW_MSG(read_csv(path, {.target_index = 7}), "target_index 7 out of range (3 columns)");
  EXPECT_THROW_MSG(read_csv(path, {.target = "y", .target_index = 2}), "set target or target_index, not both");
  EXPECT_THROW_MSG(read_csv(path, {.column_types = {{"zz", ColumnType::kNumeric}}}), "no column named 'zz'");
  EXPECT_THROW_MSG(read_csv(path, {.target = "b", .target_type = TargetType::kRegression}),
                   "target column 'b' has non-numeric values; it cannot be a regression target");
}

TEST(CsvRead, MissingValuePolicies) {
  const auto path = write_temp("missing.csv", "a,b,y\n1,2,0\n3,NA,1\n5,6,\n7,8,1\n");
  EXPECT_THROW_MSG(read_csv(path, {.target = "y"}), "missing.csv:3: missing value in column 'b'");
  const TabularData dropped = read_csv(path, {.target = "y", .missing = MissingPolicy::kDropRow});
  EXPECT_EQ(dropped.lines, (std::vector<int64_t>{2, 5}));
  EXPECT_TRUE(test::all_close(dropped.x, from_vector({1, 2, 7, 8}, {2, 2})));
  EXPECT_THROW_MSG(read_csv(path, {.target = "y", .missing = MissingPolicy::kNaN}),
                   "missing.csv:4: missing value in target column 'y'");
  const auto p2 = write_temp("missing2.csv", "a,b\n1,2\n3,?\n");
  const TabularData nan = read_csv(p2, {.missing = MissingPolicy::kNaN});
  EXPECT_TRUE(std::isnan(nan.x.to_vector<float>()[3]));
  EXPECT_FALSE(nan.y.defined());
}

TEST(CsvRead, SchemaReusedForTestFileAndJsonRoundTrip) {
  const auto train = write_temp("train.csv", kPeople);
  const TabularData d = read_csv(train, {.target = "label"});
  const CsvSchema schema = CsvSchema::from_json(nlohmann::json::parse(d.schema.to_json().dump()));
  // Column order differs, target missing (prediction input): encoded like the training file.
  const auto predict = write_temp("predict.csv", "height,color,age\n1.8,blue,33\n");
  const TabularData p = read_csv_with_schema(predict, schema);
  EXPECT_FALSE(p.y.defined());
  EXPECT_EQ(p.feature_names, d.feature_names);
  EXPECT_TRUE(test::all_close(p.x, from_vector({33, 1, 0, 0, 1.8f}, {1, 5})));
  const auto unknown = write_temp("unknown.csv", "age,color,height,label\n1,purple,2,yes\n");
  EXPECT_THROW_MSG(read_csv_with_schema(unknown, schema),
                   "unknown.csv:2: column 'color' has category 'purple' not in the schema (known: blue, green, red)");
  const auto bad_label = write_temp("bad_label.csv", "age,color,height,label\n1,red,2,maybe\n");
  EXPECT_THROW_MSG(read_csv_with_schema(bad_label, schema),
                   "bad_label.csv:2: target 'label' has label 'maybe' not in the schema");
  const auto missing_col = write_temp("missing_col.csv", "age,height\n1,2\n");
  EXPECT_THROW_MSG(read_csv_with_schema(missing_col, schema),
                   "column 'color' of the schema is missing (columns: age, height)");
  EXPECT_THROW_MSG(CsvSchema::from_json(nlohmann::json{{"columns", 3}}), "[csv] invalid schema JSON");
}

TEST(CsvRead, GzipFilesAreDecompressed) {
  // "a,b\n1,2\n" compressed with gzip -n.
  const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x4b, 0xd4, 0x49, 0xe2,
                              0x32, 0xd4, 0x31, 0xe2, 0x02, 0x00, 0x7b, 0x07, 0x97, 0x0a, 0x08, 0x00, 0x00, 0x00};
  const auto path = write_temp("small.csv.gz", std::string(reinterpret_cast<const char*>(gz), sizeof(gz)));
  const CsvTable t = read_csv_table(path);
  ASSERT_EQ(t.num_rows(), 1);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"1", "2"}));
  const auto truncated = write_temp("trunc.csv.gz", std::string(reinterpret_cast<const char*>(gz), 15));
  EXPECT_THROW_MSG(read_csv_table(truncated), "[gzip] " + truncated + ": compressed data is truncated");
  std::string flipped(reinterpret_cast<const char*>(gz), sizeof(gz));
  flipped[20] = static_cast<char>(flipped[20] ^ 0xff);  // damage the CRC
  const auto corrupt = write_temp("corrupt.csv.gz", flipped);
  EXPECT_THROW_MSG(read_csv_table(corrupt), "[gzip] " + corrupt + ": corrupt data: incorrect data check");
}

}  // namespace
}  // namespace forge
