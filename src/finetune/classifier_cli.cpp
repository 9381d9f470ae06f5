// `forge predict` and `forge eval` on a fine-tuned BERT classifier directory.
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "data/text.h"
#include "data/text_datasets.h"
#include "finetune/classifier_recipe.h"
#include "train/metrics.h"

namespace forge::finetune {

namespace fs = std::filesystem;

std::vector<train::Prediction> predict_classifier_inputs(const std::string& dir,
                                                         const std::vector<std::string>& inputs) {
  FORGE_CHECK(!inputs.empty(), "[predict] no inputs given");
  const TextClassifier clf = load_classifier(dir);
  std::vector<std::string> texts, sources;
  for (const auto& input : inputs) {
    if (fs::is_regular_file(input)) {
      const auto lines = read_lines(input, {.skip_blank = true});
      FORGE_CHECK(!lines.empty(), "[predict] {}: empty file", input);
      for (size_t i = 0; i < lines.size(); ++i) {
        texts.push_back(lines[i]);
        sources.push_back(fmt::format("{}:{}", fs::path(input).filename().string(), i + 1));
      }
    } else {
      texts.push_back(input);
      sources.push_back(input);
    }
  }
  const Tensor p = clf.predict_proba(texts);
  const int64_t C = p.size(1);
  std::vector<train::Prediction> out;
  for (size_t i = 0; i < texts.size(); ++i) {
    train::Prediction pr;
    pr.source = sources[i];
    const float* row = p.data<float>() + static_cast<int64_t>(i) * C;
    pr.probabilities.assign(row, row + C);
    pr.class_id = std::max_element(row, row + C) - row;
    pr.labels = clf.label_names;
    pr.label = clf.label_names.at(static_cast<size_t>(pr.class_id));
    out.push_back(std::move(pr));
  }
  return out;
}

train::EvalResult evaluate_classifier_dir(const std::string& dir, const std::string& data) {
  const TextClassifier clf = load_classifier(dir);
  std::vector<std::string> texts;
  std::vector<int64_t> labels;
  train::EvalResult r;
  if (data.empty()) {
    FORGE_CHECK(clf.data.is_object(), "[eval] {}: the classifier has no saved data set; pass --data FILE", dir);
    train::DataConfig dc;
    dc.name = clf.data.value("name", "");
    dc.text_file = clf.data.value("text_file", "");
    dc.csv = clf.data.value("csv", "");
    dc.text_column = clf.data.value("text_column", "");
    dc.target = clf.data.value("target", "");
    dc.test_split = clf.data.value("test_split", 0.2);
    dc.test_subset = clf.data.value("test_subset", int64_t{0});
    const train::RawData raw = train::load_text_raw_data(dc, clf.data.value("seed", uint64_t{0}));
    FORGE_CHECK(raw.label_names == clf.label_names, "[eval] {}: the data set's classes differ from the model's", dir);
    texts = train::rows_to_texts(raw, raw.x_test);
    const Tensor y = raw.y_test.to(DType::kI64).contiguous();
    labels.assign(y.data<int64_t>(), y.data<int64_t>() + y.numel());
    r.description = raw.description;
  } else {
    FORGE_CHECK(fs::is_regular_file(data), "[eval] --data {}: not a file (a classifier evaluates a \"label<TAB>text\" "
                "file)", data);
    const TextClassificationData d = load_labeled_lines(data);
    for (size_t i = 0; i < d.texts.size(); ++i) {
      const std::string& name = d.label_names[static_cast<size_t>(d.labels[i])];
      const auto at = std::find(clf.label_names.begin(), clf.label_names.end(), name);
      FORGE_CHECK(at != clf.label_names.end(), "[eval] {}: line {} has label '{}', which the model does not know",
                  data, i + 1, name);
      texts.push_back(d.texts[i]);
      labels.push_back(at - clf.label_names.begin());
    }
    r.description = fmt::format("{}: {} texts", data, texts.size());
  }
  FORGE_CHECK(!texts.empty(), "[eval] no texts to evaluate");
  const std::vector<int64_t> pred = clf.predict(texts);
  const auto n = static_cast<int64_t>(pred.size());
  const Tensor p = from_vector<int64_t>(pred, {n}), t = from_vector<int64_t>(labels, {n});
  r.samples = n;
  r.metrics["accuracy"] = metrics::accuracy(p, t);
  r.metrics["f1_macro"] = metrics::f1(p, t, metrics::Average::kMacro);
  r.confusion = metrics::confusion_matrix(p, t, static_cast<int64_t>(clf.label_names.size()));
  r.label_names = clf.label_names;
  return r;
}

}  // namespace forge::finetune
