// Using a saved model directory: evaluate on a data set, predict files or inline rows, and
// print summaries (of a model directory or of a config before training).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "data/csv.h"
#include "data/idx.h"
#include "data/image.h"
#include "data/text.h"
#include "data/text_datasets.h"
#include "ops/elementwise.h"
#include "train/metrics.h"
#include "train/run.h"

namespace forge::train {

namespace fs = std::filesystem;

namespace {

std::string lower_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  if (ext == ".gz") ext = fs::path(fs::path(path).stem()).extension().string() + ".gz";
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext;
}

bool is_image(const std::string& ext) {
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp" || ext == ".gif";
}
bool is_idx(const std::string& path, const std::string& ext) {
  return ext == ".idx" || ext == ".idx.gz" || path.find("-ubyte") != std::string::npos;
}

// "5.1, 3.5 1.4;0.2" -> numbers; throws naming `where` for anything that is not a number.
std::vector<float> parse_numbers(const std::string& text, const std::string& where) {
  std::string s = text;
  for (char& c : s) {
    if (c == ',' || c == ';' || c == '\t') c = ' ';
  }
  std::istringstream in(s);
  std::vector<float> out;
  std::string token;
  while (in >> token) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(token, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    FORGE_CHECK(used == token.size(), "[predict] {}: '{}' is not a number", where, token);
    out.push_back(static_cast<float>(v));
  }
  FORGE_CHECK(!out.empty(), "[predict] {}: no numbers", where);
  return out;
}

Tensor rows_tensor(const std::vector<std::vector<float>>& rows, const std::string& where) {
  const size_t f = rows.front().size();
  std::vector<float> flat;
  for (size_t i = 0; i < rows.size(); ++i) {
    FORGE_CHECK(rows[i].size() == f, "[predict] {}: row {} has {} values, row 1 has {}", where, i + 1, rows[i].size(),
                f);
    flat.insert(flat.end(), rows[i].begin(), rows[i].end());
  }
  return from_vector(flat, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(f)});
}

struct Batch {
  Tensor x;                          // raw features [N, F]
  std::vector<std::string> sources;  // one per row
};

Batch read_input(const std::string& input, const nlohmann::json& prep) {
  Batch b;
  const std::string ext = lower_extension(input);
  const std::string name = fs::path(input).filename().string();
  if (!fs::exists(input)) {
    // An inline row of numbers, e.g. "5.1,3.5,1.4,0.2".
    const bool numeric = !input.empty() && input.find_first_not_of("0123456789.,;eE+- \t") == std::string::npos;
    FORGE_CHECK(numeric, "[predict] input not found: {} (pass a file or an inline row like \"5.1,3.5,1.4,0.2\")",
                input);
    b.x = rows_tensor({parse_numbers(input, "inline row")}, input);
    b.sources = {input};
    return b;
  }
  if (is_image(ext)) {
    const std::vector<int64_t> shape = prep.value("image_shape", std::vector<int64_t>{});
    const int channels =
        shape.size() == 3 && (shape[0] == 1 || shape[0] == 3 || shape[0] == 4) ? static_cast<int>(shape[0]) : 1;
    const Tensor img = load_image(input, channels);  // [C, H, W] in [0, 1]
    const int64_t f = prep.value("num_features", int64_t{0});
    FORGE_CHECK(img.numel() == f,
                "[predict] {}: the image is {}x{} with {} channel(s) ({} values); the model expects {}{}", input,
                img.size(2), img.size(1), img.size(0), img.numel(), f,
                shape.empty() ? std::string(" features") : fmt::format(" values, shape [{}]", fmt::join(shape, ", ")));
    b.x = img.contiguous().reshape({1, f});
    b.sources = {name};
    return b;
  }
  if (is_idx(input, ext)) {
    Tensor t = load_idx(input);
    const bool bytes = t.dtype() == DType::kU8;
    t = t.to(DType::kF32);
    if (bytes) t = div(t, 255.0);  // pixel bytes -> [0, 1], like the built-in image data sets
    t = t.dim() == 1 ? t.reshape({1, t.numel()}) : t.contiguous().reshape({t.size(0), t.numel() / t.size(0)});
    b.x = t;
    for (int64_t i = 0; i < t.size(0); ++i) b.sources.push_back(fmt::format("{}[{}]", name, i));
    return b;
  }
  if (ext == ".csv" || ext == ".csv.gz") {
    const nlohmann::json& schema = prep["csv_schema"];
    if (!schema.is_null()) {
      const TabularData t = read_csv_with_schema(input, CsvSchema::from_json(schema));
      b.x = t.x;
      for (int64_t line : t.lines) b.sources.push_back(fmt::format("{}:{}", name, line));
      return b;
    }
    // Built-in tabular data: pick the feature columns by name when the header has them.
    const CsvTable table = read_csv_table(input);
    const std::vector<std::string> features = prep.value("feature_names", std::vector<std::string>{});
    std::vector<int64_t> cols;
    bool by_name = !features.empty();
    for (const auto& f : features) {
      auto it = std::find(table.columns.begin(), table.columns.end(), f);
      if (it == table.columns.end()) {
        by_name = false;
        break;
      }
      cols.push_back(it - table.columns.begin());
    }
    if (!by_name) {
      cols.clear();
      for (int64_t i = 0; i < table.num_columns(); ++i) cols.push_back(i);
    }
    std::vector<std::vector<float>> rows;
    for (int64_t r = 0; r < table.num_rows(); ++r) {
      std::string joined;
      for (int64_t c : cols) joined += table.rows[r][c] + " ";
      rows.push_back(parse_numbers(joined, fmt::format("{}:{}", name, table.lines[r])));
      b.sources.push_back(fmt::format("{}:{}", name, table.lines[r]));
    }
    FORGE_CHECK(!rows.empty(), "[predict] {}: no data rows", input);
    b.x = rows_tensor(rows, input);
    return b;
  }
  // Anything else: a text file, one row of numbers per line.
  const std::vector<std::string> lines = read_lines(input, {.skip_blank = true});
  FORGE_CHECK(!lines.empty(), "[predict] {}: empty file", input);
  std::vector<std::vector<float>> rows;
  for (size_t i = 0; i < lines.size(); ++i) {
    rows.push_back(parse_numbers(lines[i], fmt::format("{}:{}", name, i + 1)));
    b.sources.push_back(fmt::format("{}:{}", name, i + 1));
  }
  b.x = rows_tensor(rows, input);
  return b;
}

std::vector<std::string> label_names_of(const Model& model) {
  return model.extra().value("label_names", std::vector<std::string>{});
}

}  // namespace

EvalResult evaluate_model_dir(const std::string& model_dir, const std::string& data) {
  Model model = Model::load(model_dir);
  const nlohmann::json& extra = model.extra();
  FORGE_CHECK(extra.contains("config") && extra.contains("preprocessing"),
              "[eval] {}: the model has no saved training config (was it saved by `forge train`?)", model_dir);
  const nlohmann::json& prep = extra["preprocessing"];
  const nlohmann::json& cfg = extra["config"];
  DataConfig dc;
  const auto& d = cfg["data"];
  dc.name = d.value("name", "");
  dc.csv = d.value("csv", "");
  dc.test_csv = d.value("test_csv", "");
  dc.target = d.value("target", "");
  dc.task = d.value("task", "auto");
  dc.categorical = d.value("categorical", std::vector<std::string>{});
  dc.ignore = d.value("ignore", std::vector<std::string>{});
  dc.encoding = d.value("encoding", "onehot");
  dc.test_split = d.value("test_split", 0.2);
  dc.test_subset = d.value("test_subset", int64_t{0});
  dc.samples = d.value("samples", int64_t{1000});
  dc.noise = d.value("noise", 0.1);
  dc.text_file = d.value("text_file", "");
  dc.text_column = d.value("text_column", "");
  dc.classes = d.value("classes", std::vector<std::string>{});
  dc.positive = d.value("positive", "");
  dc.text = TextConfig::from_json(d.value("text", nlohmann::json()));
  const uint64_t seed = cfg["train"].value("seed", uint64_t{0});

  Tensor x, y;
  RawData text_raw;  // text data: the texts x's row indices point at
  EvalResult result;
  result.label_names = label_names_of(model);
  if (data.empty()) {
    RawData raw = load_raw_data(dc, seed);
    x = raw.x_test;
    y = raw.y_test;
    result.description = "test split of " + raw.description;
    text_raw.texts = std::move(raw.texts);
  } else if (is_text_preprocessing(prep)) {
    // A labelled text file (label<TAB>text lines), all of it.
    FORGE_CHECK(fs::exists(data), "[eval] data file not found: {} (text models take label<TAB>text lines)", data);
    const TextClassificationData t = load_labeled_lines(data);
    std::vector<int64_t> rows, labels;
    for (size_t i = 0; i < t.texts.size(); ++i) {
      auto it = std::find(result.label_names.begin(), result.label_names.end(), t.label_names[t.labels[i]]);
      FORGE_CHECK(it != result.label_names.end(), "[eval] {}: label '{}' is not one of the model's classes ({})", data,
                  t.label_names[t.labels[i]], fmt::join(result.label_names, ", "));
      rows.push_back(static_cast<int64_t>(i));
      labels.push_back(it - result.label_names.begin());
    }
    text_raw.texts = t.texts;
    x = from_vector<int64_t>(rows, {static_cast<int64_t>(rows.size()), 1});
    y = from_vector<int64_t>(labels, {static_cast<int64_t>(labels.size())});
    result.description = fmt::format("{} ({} texts)", data, rows.size());
  } else if (fs::exists(data) || lower_extension(data) == ".csv") {
    FORGE_CHECK(fs::exists(data), "[eval] data file not found: {}", data);
    FORGE_CHECK(!prep["csv_schema"].is_null(),
                "[eval] {}: this model was trained on the built-in data set '{}'; pass a built-in name to --data", data,
                dc.name);
    const TabularData t = read_csv_with_schema(data, CsvSchema::from_json(prep["csv_schema"]));
    FORGE_CHECK(t.y.defined(), "[eval] {}: the target column '{}' is missing", data,
                prep["csv_schema"].value("target", ""));
    x = t.x;
    y = t.y;
    result.description = fmt::format("{} ({} rows)", data, t.x.size(0));
  } else {
    dc.csv.clear();
    dc.name = data;
    dc.test_subset = 0;
    const RawData raw = load_raw_data(dc, seed);
    x = raw.x_test;
    y = raw.y_test;
    result.description = "test split of " + raw.description;
  }
  const std::string loss = model.compile_options().loss;
  const bool classification = extra.value("task", "classification") == "classification";
  Tensor target = y;
  const int64_t classes = std::max<int64_t>(2, static_cast<int64_t>(result.label_names.size()));
  if (loss.rfind("categorical_crossentropy", 0) == 0) {
    const Tensor ids = y.to(DType::kI64).contiguous();
    target = zeros({ids.numel(), classes});
    for (int64_t i = 0; i < ids.numel(); ++i) target.data<float>()[i * classes + ids.data<int64_t>()[i]] = 1.0f;
  } else if (loss_needs_2d_targets(loss)) {
    target = y.to(DType::kF32).reshape({y.size(0), 1}).contiguous();
  }
  const Tensor input = text_raw.texts.empty() ? apply_preprocessing(prep, x)
                                              : texts_to_input(prep, rows_to_texts(text_raw, x));
  auto ds = std::make_shared<TensorDataset>(input, target);
  result.samples = ds->size();
  result.metrics = model.evaluate(ds);
  if (classification) {
    result.confusion = metrics::confusion_matrix(model.predict(input), target, classes);
  }
  return result;
}

std::vector<Prediction> predict_inputs(const std::string& model_dir, const std::vector<std::string>& inputs) {
  FORGE_CHECK(!inputs.empty(), "[predict] no inputs given");
  Model model = Model::load(model_dir);
  const nlohmann::json& extra = model.extra();
  FORGE_CHECK(extra.contains("preprocessing"),
              "[predict] {}: the model has no saved preprocessing (was it saved by `forge train`?)", model_dir);
  const nlohmann::json& prep = extra["preprocessing"];
  const std::vector<std::string> labels = label_names_of(model);
  const bool classification = extra.value("task", "classification") == "classification";
  std::vector<Prediction> out;
  for (const std::string& input : inputs) {
    Batch batch;
    Tensor model_input;
    if (is_text_preprocessing(prep)) {
      // Text models: a file holds one text per line; anything else is the text itself.
      std::vector<std::string> texts;
      if (fs::is_regular_file(input)) {
        texts = read_lines(input, {.skip_blank = true});
        FORGE_CHECK(!texts.empty(), "[predict] {}: empty file", input);
        for (size_t i = 0; i < texts.size(); ++i)
          batch.sources.push_back(fmt::format("{}:{}", fs::path(input).filename().string(), i + 1));
      } else {
        texts = {input};
        batch.sources = {input};
      }
      model_input = texts_to_input(prep, texts);
    } else {
      batch = read_input(input, prep);
      model_input = apply_preprocessing(prep, batch.x);
    }
    const Tensor pred = model.predict(model_input).to(DType::kF32).contiguous();
    const int64_t n = pred.size(0);
    const int64_t k = pred.numel() / n;
    for (int64_t i = 0; i < n; ++i) {
      Prediction p;
      p.source = batch.sources[static_cast<size_t>(i)];
      const float* row = pred.data<float>() + i * k;
      if (classification) {
        if (k == 1) {
          p.probabilities = {1.0 - row[0], row[0]};
        } else {
          p.probabilities.assign(row, row + k);
        }
        p.class_id = std::max_element(p.probabilities.begin(), p.probabilities.end()) - p.probabilities.begin();
        p.label = p.class_id < static_cast<int64_t>(labels.size()) ? labels[p.class_id] : std::to_string(p.class_id);
        for (size_t c = 0; c < p.probabilities.size(); ++c)
          p.labels.push_back(c < labels.size() ? labels[c] : std::to_string(c));
      } else {
        p.values.assign(row, row + k);
      }
      out.push_back(std::move(p));
    }
  }
  return out;
}

nlohmann::json prediction_json(const Prediction& p) {
  nlohmann::json j = {{"input", p.source}};
  if (p.class_id >= 0) {
    j["class"] = p.class_id;
    j["label"] = p.label;
    j["probabilities"] = p.probabilities;
    j["labels"] = p.labels;
  } else {
    j["values"] = p.values;
  }
  return j;
}

std::string summarize(const std::string& path) {
  if (fs::is_directory(path)) {
    const Model model = Model::load(path);
    std::string out = model.summary();
    if (model.extra().contains("data"))
      out += fmt::format("\ntrained on: {}\n", model.extra()["data"].get<std::string>());
    return out;
  }
  FORGE_CHECK(fs::exists(path), "[summary] not found: {} (pass a model directory or a config .toml)", path);
  const RunConfig config = load_run_config(path);
  const PreparedData data = prepare_data(config.data, config.train.seed, config.train.loss);
  const Model model = Model::from_config(config.layers, data.input_shape);
  return fmt::format("{}\ndata: {}\n", model.summary(), data.description);
}

}  // namespace forge::train
