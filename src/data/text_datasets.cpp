#include "data/text_datasets.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "core/error.h"
#include "core/random.h"
#include "data/csv.h"
#include "data/text.h"

namespace forge {

namespace {

TextClassificationData take(const TextClassificationData& data, const std::vector<int64_t>& indices, size_t from,
                            size_t to) {
  TextClassificationData out;
  out.label_names = data.label_names;
  for (size_t i = from; i < to; ++i) {
    out.texts.push_back(data.texts[static_cast<size_t>(indices[i])]);
    out.labels.push_back(data.labels[static_cast<size_t>(indices[i])]);
  }
  return out;
}

}  // namespace

std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed) {
  std::vector<int64_t> idx(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = i;
  Generator gen(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(gen.below(static_cast<uint64_t>(i + 1)));
    std::swap(idx[static_cast<size_t>(i)], idx[static_cast<size_t>(j)]);
  }
  return idx;
}

TextSplit split_text_data(const TextClassificationData& data, double test_fraction, double validation_fraction,
                          uint64_t seed) {
  FORGE_CHECK(data.texts.size() == data.labels.size(), "[text_data] {} texts but {} labels", data.texts.size(),
              data.labels.size());
  FORGE_CHECK(test_fraction >= 0 && validation_fraction >= 0 && test_fraction + validation_fraction < 1,
              "[text_data] split fractions must be >= 0 and sum to < 1, got test {} and validation {}", test_fraction,
              validation_fraction);
  const auto n = static_cast<int64_t>(data.texts.size());
  const std::vector<int64_t> idx = shuffled_indices(n, seed);
  const auto n_test = static_cast<size_t>(std::llround(test_fraction * static_cast<double>(n)));
  const auto n_val = static_cast<size_t>(std::llround(validation_fraction * static_cast<double>(n)));
  FORGE_CHECK(n_test + n_val < static_cast<size_t>(n),
              "[text_data] {} samples are too few for a {} test / {} validation split", n, test_fraction,
              validation_fraction);
  TextSplit s;
  s.test = take(data, idx, 0, n_test);
  s.validation = take(data, idx, n_test, n_test + n_val);
  s.train = take(data, idx, n_test + n_val, idx.size());
  return s;
}

TextClassificationData select_classes(const TextClassificationData& data, const std::vector<std::string>& classes) {
  FORGE_CHECK(classes.size() >= 2, "[text_data] select at least 2 classes, got {}", classes.size());
  std::map<int64_t, int64_t> remap;
  for (size_t k = 0; k < classes.size(); ++k) {
    auto it = std::find(data.label_names.begin(), data.label_names.end(), classes[k]);
    FORGE_CHECK(it != data.label_names.end(), "[text_data] unknown class '{}' (classes: {})", classes[k],
                fmt::join(data.label_names, ", "));
    remap[it - data.label_names.begin()] = static_cast<int64_t>(k);
  }
  TextClassificationData out;
  out.label_names = classes;
  for (size_t i = 0; i < data.texts.size(); ++i) {
    auto it = remap.find(data.labels[i]);
    if (it == remap.end()) continue;
    out.texts.push_back(data.texts[i]);
    out.labels.push_back(it->second);
  }
  return out;
}

TextClassificationData one_vs_rest(const TextClassificationData& data, const std::string& positive) {
  auto it = std::find(data.label_names.begin(), data.label_names.end(), positive);
  FORGE_CHECK(it != data.label_names.end(), "[text_data] unknown class '{}' (classes: {})", positive,
              fmt::join(data.label_names, ", "));
  const int64_t pos = it - data.label_names.begin();
  TextClassificationData out;
  out.label_names = {"not_" + positive, positive};
  out.texts = data.texts;
  for (int64_t l : data.labels) out.labels.push_back(l == pos ? 1 : 0);
  return out;
}

TextClassificationData from_labeled_texts(std::vector<std::string> texts, const std::vector<std::string>& labels) {
  TextClassificationData out;
  out.label_names = labels;
  std::sort(out.label_names.begin(), out.label_names.end());
  out.label_names.erase(std::unique(out.label_names.begin(), out.label_names.end()), out.label_names.end());
  for (const auto& l : labels) {
    out.labels.push_back(std::lower_bound(out.label_names.begin(), out.label_names.end(), l) -
                         out.label_names.begin());
  }
  out.texts = std::move(texts);
  return out;
}

TextClassificationData load_labeled_lines(const std::string& path) {
  const std::vector<std::string> lines = read_lines(path);
  std::vector<std::string> texts, labels;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    const size_t tab = lines[i].find('\t');
    FORGE_CHECK(tab != std::string::npos && tab > 0, "[text_data] {}:{}: expected label<TAB>text, got \"{}\"", path,
                i + 1, lines[i].substr(0, 60));
    labels.push_back(lines[i].substr(0, tab));
    texts.push_back(lines[i].substr(tab + 1));
  }
  FORGE_CHECK(!texts.empty(), "[text_data] {}: no samples (expected lines label<TAB>text)", path);
  return from_labeled_texts(std::move(texts), labels);
}

TextClassificationData load_text_csv(const std::string& path, const std::string& text_column,
                                     const std::string& label_column) {
  const CsvTable table = read_csv_table(path);
  const int64_t tc = table.column_index(text_column);
  const int64_t lc = table.column_index(label_column);
  std::vector<std::string> texts, labels;
  for (const auto& row : table.rows) {
    texts.push_back(row[static_cast<size_t>(tc)]);
    labels.push_back(row[static_cast<size_t>(lc)]);
  }
  FORGE_CHECK(!texts.empty(), "[text_data] {}: no data rows", path);
  return from_labeled_texts(std::move(texts), labels);
}

}  // namespace forge
