// Text data in runs: load labelled texts (fortunes topics, "label<TAB>text" files, a CSV text
// column), split them with a fixed seed, fit a Keras Tokenizer on the training texts only and
// turn texts into padded int64 id sequences. The fitted tokenizer travels in the model's
// preprocessing JSON so `forge predict MODEL "some text"` and `forge eval` work on raw text.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "data/text_datasets.h"
#include "text/keras_tokenizer.h"
#include "train/run.h"

namespace forge::train {

namespace {

text::KerasTokenizerOptions tokenizer_options(const TextConfig& c) {
  text::KerasTokenizerOptions o;
  o.num_words = c.num_words;
  o.filters = c.filters;
  o.lower = c.lower;
  o.split = c.split;
  o.char_level = c.char_level;
  if (!c.oov_token.empty()) o.oov_token = c.oov_token;
  return o;
}

Tensor index_rows(const std::vector<int64_t>& idx) {
  return from_vector<int64_t>(idx, {static_cast<int64_t>(idx.size()), 1});
}

}  // namespace

TextClassificationData load_text_classification(const DataConfig& c) {
  TextClassificationData data;
  std::string source;
  if (c.name == "fortunes") {
    data = load_fortunes();
    source = "fortunes";
  } else if (!c.text_file.empty()) {
    FORGE_CHECK(std::filesystem::exists(c.text_file), "[data] text file not found: {}", c.text_file);
    data = load_labeled_lines(c.text_file);
  } else {
    FORGE_CHECK(std::filesystem::exists(c.csv), "[data] CSV file not found: {}", c.csv);
    FORGE_CHECK(!c.target.empty(), "[data] {}: text_column needs 'target' (the label column)", c.csv);
    data = load_text_csv(c.csv, c.text_column, c.target);
  }
  if (!c.classes.empty()) data = select_classes(data, c.classes);
  if (!c.positive.empty()) data = one_vs_rest(data, c.positive);
  FORGE_CHECK(!data.texts.empty(), "[data] the text data set is empty");
  return data;
}

RawData load_text_raw_data(const DataConfig& c, uint64_t seed) {
  const TextClassificationData data = load_text_classification(c);
  // Same permutation as split_text_data(data, test_split, 0, seed): the first round(test_split * N)
  // shuffled samples are the test split.
  const auto n = static_cast<int64_t>(data.texts.size());
  const std::vector<int64_t> idx = shuffled_indices(n, seed);
  const auto n_test = static_cast<size_t>(std::llround(c.test_split * static_cast<double>(n)));
  FORGE_CHECK(n_test > 0 && n_test < idx.size(), "[data] {} texts are too few for a {:.0f}% test split", n,
              c.test_split * 100);
  std::vector<int64_t> test(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(n_test));
  std::vector<int64_t> train(idx.begin() + static_cast<std::ptrdiff_t>(n_test), idx.end());
  if (c.train_subset > 0 && c.train_subset < static_cast<int64_t>(train.size())) train.resize(c.train_subset);
  if (c.test_subset > 0 && c.test_subset < static_cast<int64_t>(test.size())) test.resize(c.test_subset);
  auto labels = [&](const std::vector<int64_t>& rows) {
    std::vector<int64_t> y;
    for (int64_t r : rows) y.push_back(data.labels[static_cast<size_t>(r)]);
    return from_vector<int64_t>(y, {static_cast<int64_t>(y.size())});
  };
  RawData raw;
  raw.texts = data.texts;
  raw.label_names = data.label_names;
  raw.classification = true;
  raw.feature_names = {"text"};
  raw.x_train = index_rows(train);
  raw.y_train = labels(train);
  raw.x_test = index_rows(test);
  raw.y_test = labels(test);
  const std::string what = !c.name.empty()           ? c.name
                           : !c.text_file.empty()    ? std::filesystem::path(c.text_file).filename().string()
                                                     : std::filesystem::path(c.csv).filename().string();
  raw.description = fmt::format("{}: {} train / {} test texts, {} classes (seeded {:.0f}% test split, seed {})", what,
                                train.size(), test.size(), data.label_names.size(), c.test_split * 100, seed);
  return raw;
}

nlohmann::json fit_text_preprocessing(const DataConfig& c, const RawData& raw, const Tensor& x_train_rows) {
  text::KerasTokenizer tok(tokenizer_options(c.text));
  tok.fit_on_texts(rows_to_texts(raw, x_train_rows));
  nlohmann::json text = c.text.to_json();
  text["tokenizer"] = tok.to_json();
  text["vocab_size"] = tok.vocab_size();
  return {{"text", text}, {"num_features", c.text.maxlen}, {"feature_names", raw.feature_names},
          {"csv_schema", nullptr}};
}

bool is_text_preprocessing(const nlohmann::json& p) { return p.is_object() && p.contains("text"); }

std::vector<std::string> rows_to_texts(const RawData& raw, const Tensor& rows) {
  const Tensor r = rows.to(DType::kI64).contiguous();
  std::vector<std::string> texts;
  texts.reserve(static_cast<size_t>(r.numel()));
  for (int64_t i = 0; i < r.numel(); ++i) texts.push_back(raw.texts.at(static_cast<size_t>(r.data<int64_t>()[i])));
  return texts;
}

Tensor texts_to_input(const nlohmann::json& p, const std::vector<std::string>& texts) {
  FORGE_CHECK(is_text_preprocessing(p), "[predict] the model was not trained on text");
  const nlohmann::json& t = p["text"];
  // Parsing the tokenizer per call is cheap next to a forward pass over the same texts.
  const text::KerasTokenizer tok = text::KerasTokenizer::from_json(t["tokenizer"].get<std::string>());
  text::PadOptions o;
  o.maxlen = t.value("maxlen", int64_t{100});
  o.padding = t.value("padding", "pre");
  o.truncating = t.value("truncating", "pre");
  return text::pad_sequences(tok.texts_to_sequences(texts), o);
}

}  // namespace forge::train
