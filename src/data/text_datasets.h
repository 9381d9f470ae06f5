#pragma once
// Text classification data sets for the classic text models (Keras Tokenizer + Embedding):
// the fortunes topics (data/fortunes.h) or any labelled text — a text file with one sample per
// line ("label<TAB>text") or a CSV text column with a label column — plus a fixed seeded
// train/validation/test split and two-class / one-vs-rest views for binary classifiers.
#include <cstdint>
#include <string>
#include <vector>

#include "data/fortunes.h"

namespace forge {

struct TextSplit {
  TextClassificationData train, validation, test;  // validation is empty for a 0 fraction
};

// Seeded random split: shuffles the sample indices with Generator(seed) (Fisher-Yates), then the
// first round(test_fraction*N) go to test, the next round(validation_fraction*N) to validation,
// the rest to train (each keeps the shuffled order). The same seed gives the same split on every
// platform. Fractions must be >= 0 and sum to < 1.
TextSplit split_text_data(const TextClassificationData& data, double test_fraction, double validation_fraction,
                          uint64_t seed);

// The permutation split_text_data uses: indices 0..n-1 shuffled by Generator(seed).
std::vector<int64_t> shuffled_indices(int64_t n, uint64_t seed);

// The samples whose label is one of `classes` (names), relabelled 0.. in the given order.
// Two classes give a binary problem. Unknown names throw listing the known ones.
TextClassificationData select_classes(const TextClassificationData& data, const std::vector<std::string>& classes);

// Every sample, labelled 1 when its class is `positive` and 0 otherwise (label_names
// {"not_<positive>", "<positive>"}).
TextClassificationData one_vs_rest(const TextClassificationData& data, const std::string& positive);

// A text file with one sample per line, "label<TAB>text" (blank lines skipped); labels are
// sorted names. Throws "[text_data] FILE:LINE: expected label<TAB>text".
TextClassificationData load_labeled_lines(const std::string& path);

// A CSV file's text column and label column (labels sorted by name).
TextClassificationData load_text_csv(const std::string& path, const std::string& text_column,
                                     const std::string& label_column);

// Builds TextClassificationData from (text, label name) pairs with sorted label names.
TextClassificationData from_labeled_texts(std::vector<std::string> texts, const std::vector<std::string>& labels);

}  // namespace forge
