// The data half of a run: load the [data] section's data set, split it, fit and apply the
// preprocessing (normalize -> scaler -> image reshape) that is saved with the model.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/random.h"
#include "data/csv.h"
#include "data/datasets.h"
#include "data/fashion_mnist.h"
#include "data/transforms.h"
#include "ops/elementwise.h"
#include "train/run.h"

namespace forge::train {

namespace {

const std::vector<std::string> kFashionLabels = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// Seeded random split of (x, y) into (first, second) with `second_fraction` of the rows.
void split_rows(const Tensor& x, const Tensor& y, double second_fraction, uint64_t seed, Tensor* x1, Tensor* y1,
                Tensor* x2, Tensor* y2) {
  const auto data = std::make_shared<TensorDataset>(x, y);
  const auto parts = split(data, {1.0 - second_fraction, second_fraction}, seed);
  FORGE_CHECK(parts[0]->size() > 0 && parts[1]->size() > 0,
              "[data] {} rows are too few to split off a {:.0f}% part (seed {})", x.size(0), second_fraction * 100,
              seed);
  const Example a = materialize(*parts[0]);
  const Example b = materialize(*parts[1]);
  *x1 = a.x;
  *y1 = a.y;
  *x2 = b.x;
  *y2 = b.y;
}

Tensor first_rows(const Tensor& t, int64_t n) { return n > 0 && n < t.size(0) ? t.slice(0, 0, n).contiguous() : t; }

RawData load_csv_data(const DataConfig& c, uint64_t seed) {
  FORGE_CHECK(std::filesystem::exists(c.csv), "[data] CSV file not found: {}", c.csv);
  const CsvTable table = read_csv_table(c.csv);
  FORGE_CHECK(table.num_columns() >= 2, "[data] {}: needs at least 2 columns (features and a target), found {}", c.csv,
              table.num_columns());
  CsvOptions o;
  o.target = c.target.empty() ? table.columns.back() : c.target;
  auto check_column = [&](const std::string& name, const char* key) {
    FORGE_CHECK(std::find(table.columns.begin(), table.columns.end(), name) != table.columns.end(),
                "[data] {}: unknown column '{}' in '{}' (columns: {})", c.csv, name, key,
                fmt::join(table.columns, ", "));
  };
  check_column(o.target, "target");
  for (const auto& name : c.categorical) {
    check_column(name, "categorical");
    o.column_types[name] = ColumnType::kCategorical;
  }
  for (const auto& name : c.ignore) {
    check_column(name, "ignore");
    o.column_types[name] = ColumnType::kIgnore;
  }
  o.categorical_encoding = c.encoding == "label" ? CategoricalEncoding::kLabel : CategoricalEncoding::kOneHot;
  o.target_type = c.task == "classification" ? TargetType::kClassification
                  : c.task == "regression"   ? TargetType::kRegression
                                             : TargetType::kAuto;
  const TabularData data = encode_table(table, o);
  RawData raw;
  raw.classification = data.schema.classification;
  raw.feature_names = data.feature_names;
  raw.label_names = data.label_names;
  raw.csv_schema = data.schema.to_json();
  const std::string file = std::filesystem::path(c.csv).filename().string();
  if (!c.test_csv.empty()) {
    FORGE_CHECK(std::filesystem::exists(c.test_csv), "[data] test CSV file not found: {}", c.test_csv);
    const TabularData test = read_csv_with_schema(c.test_csv, data.schema, o);
    FORGE_CHECK(test.y.defined(), "[data] {}: the target column '{}' is missing", c.test_csv, o.target);
    raw.x_train = data.x;
    raw.y_train = data.y;
    raw.x_test = test.x;
    raw.y_test = test.y;
    raw.description = fmt::format("{}: {} train rows, {}: {} test rows", file, data.x.size(0),
                                  std::filesystem::path(c.test_csv).filename().string(), test.x.size(0));
  } else {
    split_rows(data.x, data.y, c.test_split, seed, &raw.x_train, &raw.y_train, &raw.x_test, &raw.y_test);
    raw.description = fmt::format("{}: {} train / {} test rows (seeded {:.0f}% test split)", file, raw.x_train.size(0),
                                  raw.x_test.size(0), c.test_split * 100);
  }
  return raw;
}

}  // namespace

RawData load_raw_data(const DataConfig& c, uint64_t seed) {
  if (c.is_text()) return load_text_raw_data(c, seed);
  if (!c.csv.empty()) return load_csv_data(c, seed);
  RawData raw;
  if (c.name == "fashion-mnist") {
    const FashionMnist f = load_fashion_mnist();
    raw.x_train = f.train_images;
    raw.y_train = f.train_labels;
    raw.x_test = f.test_images;
    raw.y_test = f.test_labels;
    raw.label_names = kFashionLabels;
    for (int i = 0; i < 784; ++i) raw.feature_names.push_back(fmt::format("pixel{}", i));
    raw.description = "fashion-mnist";
  } else if (c.name == "synthetic-linear") {
    // y = 2x + 1 + N(0, noise^2), x uniform in [-2, 2], all from the seed.
    Generator gen(seed);
    std::vector<float> xs, ys;
    for (int64_t i = 0; i < c.samples; ++i) {
      const double x = gen.uniform() * 4.0 - 2.0;
      xs.push_back(static_cast<float>(x));
      ys.push_back(static_cast<float>(2.0 * x + 1.0 + c.noise * gen.normal()));
    }
    const Tensor x = from_vector(xs, {c.samples, 1});
    const Tensor y = from_vector(ys, {c.samples});
    split_rows(x, y, c.test_split, seed + 1, &raw.x_train, &raw.y_train, &raw.x_test, &raw.y_test);
    raw.classification = false;
    raw.feature_names = {"x"};
    raw.description = fmt::format("synthetic-linear (y = 2x + 1 + N(0, {}^2), seed {})", c.noise, seed);
  } else {
    FORGE_CHECK(
        std::find(builtin_data_names().begin(), builtin_data_names().end(), c.name) != builtin_data_names().end(),
        "[data] unknown data set '{}' (built-in: {})", c.name, fmt::join(builtin_data_names(), ", "));
    const BuiltinDataset d = load_dataset(c.name);
    raw.classification = d.classification;
    raw.feature_names = d.feature_names;
    raw.label_names = d.label_names;
    if (d.x_test.defined()) {
      raw.x_train = d.x;
      raw.y_train = d.y;
      raw.x_test = d.x_test;
      raw.y_test = d.y_test;
      raw.description = c.name;
    } else {
      split_rows(d.x, d.y, c.test_split, seed, &raw.x_train, &raw.y_train, &raw.x_test, &raw.y_test);
      raw.description = fmt::format("{} (seeded {:.0f}% test split)", c.name, c.test_split * 100);
    }
  }
  const int64_t full_train = raw.x_train.size(0);
  raw.x_train = first_rows(raw.x_train, c.train_subset);
  raw.y_train = first_rows(raw.y_train, c.train_subset);
  raw.x_test = first_rows(raw.x_test, c.test_subset);
  raw.y_test = first_rows(raw.y_test, c.test_subset);
  std::string train_part = fmt::format("{} train", raw.x_train.size(0));
  if (raw.x_train.size(0) < full_train)
    train_part += fmt::format(" (the first {} of {})", raw.x_train.size(0), full_train);
  raw.description = fmt::format("{}: {} / {} test examples, {} features", raw.description, train_part,
                                raw.x_test.size(0), raw.x_train.size(1));
  return raw;
}

nlohmann::json fit_preprocessing(const DataConfig& c, const RawData& raw, const Tensor& x_train_rows) {
  const int64_t f = raw.x_train.size(1);
  if (!c.image_shape.empty()) {
    int64_t n = 1;
    for (int64_t d : c.image_shape) n *= d;
    FORGE_CHECK(n == f, "[data] image_shape [{}] holds {} values but the data has {} features per example",
                fmt::join(c.image_shape, ", "), n, f);
  }
  nlohmann::json p = {{"normalize", c.normalize},     {"num_features", f},
                      {"image_shape", c.image_shape}, {"feature_names", raw.feature_names},
                      {"csv_schema", raw.csv_schema}, {"transform", nullptr}};
  Tensor x = x_train_rows.to(DType::kF32);
  if (c.normalize > 0) x = div(x, c.normalize);
  TransformPtr scaler;
  if (c.scale == "standard") scaler = std::make_shared<StandardScaler>();
  if (c.scale == "minmax") scaler = std::make_shared<MinMaxScaler>();
  if (scaler) {
    scaler->fit(x);
    p["transform"] = scaler->to_json();
  }
  return p;
}

Tensor apply_preprocessing(const nlohmann::json& p, const Tensor& x_in) {
  FORGE_CHECK(x_in.dim() == 2, "[predict] expected a feature matrix [N, F], got {}", shape_str(x_in));
  const int64_t f = p.value("num_features", int64_t{0});
  FORGE_CHECK(x_in.size(1) == f, "[predict] the model expects {} features per example, the input has {}", f,
              x_in.size(1));
  Tensor x = x_in.to(DType::kF32);
  const double normalize = p.value("normalize", 0.0);
  if (normalize > 0) x = div(x, normalize);
  if (p.contains("transform") && !p["transform"].is_null()) x = transform_from_json(p["transform"])->transform(x);
  const std::vector<int64_t> image = p.value("image_shape", std::vector<int64_t>{});
  if (!image.empty()) {
    Shape shape = {x.size(0)};
    shape.insert(shape.end(), image.begin(), image.end());
    x = x.contiguous().reshape(shape);
  }
  return x.contiguous();
}

bool loss_needs_2d_targets(const std::string& loss) { return loss.find("sparse") == std::string::npos; }

namespace {
// One-hot float32 [N, C] from class ids [N].
Tensor one_hot_rows(const Tensor& y, int64_t classes) {
  const Tensor ids = y.to(DType::kI64).contiguous();
  Tensor out = zeros({ids.numel(), classes});
  float* o = out.data<float>();
  for (int64_t i = 0; i < ids.numel(); ++i) {
    const int64_t c = ids.data<int64_t>()[i];
    FORGE_CHECK(c >= 0 && c < classes, "[data] class id {} outside [0, {})", c, classes);
    o[i * classes + c] = 1.0f;
  }
  return out;
}
}  // namespace

PreparedData prepare_data(const DataConfig& c, uint64_t seed, const std::string& loss) {
  PreparedData out;
  out.raw = load_raw_data(c, seed);
  RawData& raw = out.raw;
  out.loss = loss.empty() ? default_loss(raw.classification) : loss;
  const bool target_2d = loss_needs_2d_targets(out.loss);
  Tensor x_train = raw.x_train, y_train = raw.y_train, x_val, y_val;
  if (c.validation_split > 0) {
    split_rows(raw.x_train, raw.y_train, c.validation_split, seed + 7, &x_train, &y_train, &x_val, &y_val);
  }
  const bool text = !raw.texts.empty();
  out.preprocessing = text ? fit_text_preprocessing(c, raw, x_train) : fit_preprocessing(c, raw, x_train);
  auto input = [&](const Tensor& x) {
    return text ? texts_to_input(out.preprocessing, rows_to_texts(raw, x)) : apply_preprocessing(out.preprocessing, x);
  };
  if (raw.classification) {
    int64_t classes = static_cast<int64_t>(raw.label_names.size());
    if (classes == 0) {
      const Tensor y = raw.y_train.to(DType::kI64).contiguous();
      for (int64_t i = 0; i < y.numel(); ++i) classes = std::max(classes, y.data<int64_t>()[i] + 1);
    }
    out.num_classes = classes;
  }
  const bool one_hot = out.loss.rfind("categorical_crossentropy", 0) == 0;
  FORGE_CHECK(!one_hot || raw.classification, "[train] loss '{}' needs class labels, but {} has a numeric target",
              out.loss, c.csv.empty() ? c.name : c.csv);
  auto targets = [&](const Tensor& y) {
    if (one_hot) return one_hot_rows(y, out.num_classes);
    if (!target_2d) return y;
    return y.to(DType::kF32).reshape({y.size(0), 1}).contiguous();
  };
  const Tensor xt = input(x_train);
  out.input_shape = Shape(xt.shape().begin() + 1, xt.shape().end());
  out.train = std::make_shared<TensorDataset>(xt, targets(y_train));
  if (x_val.defined()) {
    out.validation = std::make_shared<TensorDataset>(input(x_val), targets(y_val));
  }
  out.test = std::make_shared<TensorDataset>(input(raw.x_test), targets(raw.y_test));
  out.description = raw.description;
  if (x_val.defined()) {
    out.description += fmt::format("; {} of the train examples held out for validation", x_val.size(0));
  }
  return out;
}

}  // namespace forge::train
