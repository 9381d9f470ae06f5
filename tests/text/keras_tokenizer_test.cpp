// Keras Tokenizer / pad_sequences against tools/text/keras_tokenizer_reference.py (Keras's
// algorithm; the JSON is committed under tests/text/data).
#include "text/keras_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace forge::text {
namespace {

nlohmann::json reference() {
  std::ifstream in(std::string(FORGE_TEST_DATA_DIR) + "/text/data/keras_tokenizer_reference.json");
  EXPECT_TRUE(in.good()) << "run /usr/bin/python3 tools/text/keras_tokenizer_reference.py";
  std::stringstream ss;
  ss << in.rdbuf();
  return nlohmann::json::parse(ss.str());
}

KerasTokenizerOptions options_of(const nlohmann::json& o) {
  KerasTokenizerOptions k;
  if (o.contains("num_words")) k.num_words = o["num_words"];
  if (o.contains("oov_token")) k.oov_token = o["oov_token"].get<std::string>();
  if (o.contains("lower")) k.lower = o["lower"];
  if (o.contains("char_level")) k.char_level = o["char_level"];
  if (o.contains("filters")) k.filters = o["filters"];
  if (o.contains("split")) k.split = o["split"];
  return k;
}

std::vector<std::vector<int64_t>> rows_of(const Tensor& t) {
  std::vector<std::vector<int64_t>> out;
  for (int64_t r = 0; r < t.size(0); ++r) {
    const int64_t* p = t.data<int64_t>() + r * t.size(1);
    out.emplace_back(p, p + t.size(1));
  }
  return out;
}

TEST(KerasTokenizer, MatchesKerasReference) {
  const nlohmann::json ref = reference();
  std::vector<std::string> texts = ref["texts"];
  std::vector<std::string> all = texts;
  for (const auto& q : ref["queries"]) all.push_back(q);
  for (const auto& c : ref["tokenizers"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    KerasTokenizer tok(options_of(c["options"]));
    tok.fit_on_texts(texts);
    EXPECT_EQ(tok.document_count(), c["document_count"].get<int64_t>());
    std::vector<std::pair<std::string, int64_t>> counts;
    for (const auto& wc : c["word_counts"]) counts.emplace_back(wc[0], wc[1]);
    EXPECT_EQ(tok.word_counts(), counts);
    std::unordered_map<std::string, int64_t> index = c["word_index"];
    EXPECT_EQ(tok.word_index(), index);
    const auto seqs = tok.texts_to_sequences(all);
    EXPECT_EQ(seqs, c["sequences"].get<std::vector<std::vector<int64_t>>>());
    EXPECT_EQ(tok.sequences_to_texts(seqs), c["texts_back"].get<std::vector<std::string>>());
    // JSON round trip keeps the behaviour.
    const KerasTokenizer back = KerasTokenizer::from_json(tok.to_json());
    EXPECT_EQ(back.texts_to_sequences(all), seqs);
    EXPECT_EQ(back.word_counts(), tok.word_counts());
    EXPECT_EQ(back.to_json(), tok.to_json());
  }
}

TEST(KerasTokenizer, ToJsonHasKerasLayout) {
  KerasTokenizer tok({.num_words = 3, .oov_token = "<OOV>"});
  tok.fit_on_texts({"b a b", "c"});
  const auto j = nlohmann::json::parse(tok.to_json());
  EXPECT_EQ(j["class_name"], "Tokenizer");
  EXPECT_EQ(j["config"]["num_words"], 3);
  EXPECT_EQ(j["config"]["oov_token"], "<OOV>");
  // Keras stores the dictionaries as JSON strings.
  ASSERT_TRUE(j["config"]["word_index"].is_string());
  EXPECT_EQ(nlohmann::json::parse(j["config"]["word_index"].get<std::string>())["b"], 2);
  EXPECT_EQ(nlohmann::json::parse(j["config"]["index_word"].get<std::string>())["1"], "<OOV>");
  EXPECT_EQ(tok.vocab_size(), 3);
  EXPECT_EQ(KerasTokenizer().vocab_size(), 1);
}

TEST(PadSequences, MatchesKerasReference) {
  const nlohmann::json ref = reference();
  const auto input = ref["pad_input"].get<std::vector<std::vector<int64_t>>>();
  for (const auto& c : ref["pad"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    PadOptions o;
    const auto& j = c["options"];
    o.maxlen = j["maxlen"].is_null() ? -1 : j["maxlen"].get<int64_t>();
    o.padding = j.value("padding", "pre");
    o.truncating = j.value("truncating", "pre");
    o.value = j.value("value", int64_t{0});
    const Tensor t = pad_sequences(input, o);
    EXPECT_EQ(t.dtype(), DType::kI64);
    EXPECT_EQ(rows_of(t), c["output"].get<std::vector<std::vector<int64_t>>>());
  }
}

TEST(PadSequences, EdgeCases) {
  EXPECT_EQ(pad_sequences({}, {.maxlen = 4}).shape(), (Shape{0, 4}));
  EXPECT_EQ(pad_sequences({{}, {}}).shape(), (Shape{2, 0}));
  EXPECT_EQ(rows_of(pad_sequences({{1, 2}}, {.maxlen = 2})), (std::vector<std::vector<int64_t>>{{1, 2}}));
}

TEST(KerasTokenizer, BadInput) {
  EXPECT_THROW_MSG(pad_sequences({{1}}, {.padding = "middle"}), "[pad_sequences] padding must be \"pre\" or \"post\"");
  EXPECT_THROW_MSG(pad_sequences({{1}}, {.truncating = "x"}), "truncating must be");
  EXPECT_THROW_MSG(pad_sequences({{1}}, {.maxlen = 0}), "maxlen must be positive or -1, got 0");
  EXPECT_THROW_MSG(KerasTokenizer({.num_words = -2}), "num_words must be >= 0");
  EXPECT_THROW_MSG(KerasTokenizer({.split = ""}), "split must not be empty");
  KerasTokenizer tok;
  EXPECT_THROW_MSG(tok.fit_on_texts({"ok", "bad \xff byte"}), "not valid UTF-8 (byte 0xff at offset 4)");
  EXPECT_THROW_MSG(KerasTokenizer::from_json("{"), "[keras_tokenizer] from_json: not valid JSON");
  EXPECT_THROW_MSG(KerasTokenizer::from_json(R"({"config": {"word_counts": 3}})"), "config.word_counts must be");
  // The inner dicts are read by a flat-object SAX reader: bad JSON, arrays and nesting are errors.
  EXPECT_THROW_MSG(KerasTokenizer::from_json(R"({"config": {"word_counts": "{\"a\": "}})"),
                   "config.word_counts is not valid JSON");
  EXPECT_THROW_MSG(KerasTokenizer::from_json(R"({"config": {"word_counts": "[1]"}})"),
                   "config.word_counts must hold a JSON object");
  EXPECT_THROW_MSG(KerasTokenizer::from_json(R"({"config": {"word_counts": "{\"a\": {\"b\": 1}}"}})"),
                   "config.word_counts must hold a JSON object");
}

}  // namespace
}  // namespace forge::text
