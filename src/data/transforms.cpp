#include "data/transforms.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <set>

namespace forge {

namespace {

using json = nlohmann::json;

// Contiguous float32 [N, F] view/copy of x ([N] becomes [N, 1]), cut from the graph.
Tensor as_matrix(const Tensor& x, const std::string& type) {
  FORGE_CHECK(x.defined() && (x.dim() == 1 || x.dim() == 2), "[{}] expects x of shape [N, F] or [N], got {}", type,
              x.defined() ? shape_str(x) : std::string("an undefined tensor"));
  FORGE_CHECK(!is_quantized(x.dtype()), "[{}] cannot use a block-quantized tensor ({})", type, dtype_name(x.dtype()));
  Tensor m = x.detach();
  if (m.dim() == 1) m = m.reshape({m.size(0), 1});
  if (m.dtype() != DType::kF32) m = m.to(DType::kF32);
  return m.contiguous();
}

std::vector<int64_t> resolve_columns(const std::vector<int64_t>& columns, int64_t num_features,
                                     const std::string& type) {
  if (columns.empty()) {
    std::vector<int64_t> all(static_cast<size_t>(num_features));
    for (int64_t c = 0; c < num_features; ++c) all[static_cast<size_t>(c)] = c;
    return all;
  }
  std::set<int64_t> seen;
  for (int64_t c : columns) {
    FORGE_CHECK(c >= 0 && c < num_features, "[{}] column {} out of range for x with {} features", type, c,
                num_features);
    FORGE_CHECK(seen.insert(c).second, "[{}] column {} selected twice", type, c);
  }
  return columns;
}

void check_features(const Tensor& x, int64_t expected, const std::string& type) {
  FORGE_CHECK(x.size(1) == expected, "[{}] was fitted on {} features, got x of shape {}", type, expected, shape_str(x));
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::map<std::string, std::function<TransformPtr(const json&)>>& transform_registry() {
  static std::map<std::string, std::function<TransformPtr(const json&)>> r{
      {"standard_scaler", StandardScaler::from_json},
      {"min_max_scaler", MinMaxScaler::from_json},
      {"one_hot_encoder", OneHotEncoder::from_json},
      {"label_encoder", LabelEncoder::from_json},
      {"pipeline", Pipeline::from_json},
  };
  return r;
}

bool parse_number(std::string_view s, double& value) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), value);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

// ---------------------------------------------------------------- Transform

void Transform::fit(const Tensor& x) { do_fit(as_matrix(x, type())); }

void Transform::fit(const Dataset& train) {
  FORGE_CHECK(train.size() > 0, "[{}] cannot fit on an empty data set", type());
  fit(materialize(train).x);
}

Tensor Transform::transform(const Tensor& x) const {
  FORGE_CHECK(fitted(), "[{}] transform() before fit(): fit it on the training split first", type());
  Tensor out = do_transform(as_matrix(x, type()));
  if (x.dim() == 1 && out.size(1) == 1) out = out.reshape({out.size(0)});
  return out;
}

Tensor Transform::fit_transform(const Tensor& x) {
  fit(x);
  return transform(x);
}

TransformPtr transform_from_json(const json& j) {
  FORGE_CHECK(j.is_object() && j.contains("type") && j["type"].is_string(),
              "[transform_from_json] expected an object with a \"type\" string, got {}", j.dump());
  const std::string type = j["type"].get<std::string>();
  std::function<TransformPtr(const json&)> factory;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = transform_registry().find(type);
    if (it == transform_registry().end()) {
      std::vector<std::string> known;
      for (const auto& [name, f] : transform_registry()) known.push_back(name);
      fail("[transform_from_json] unknown transform type '{}' (known: {})", type, fmt::join(known, ", "));
    }
    factory = it->second;
  }
  try {
    return factory(j);
  } catch (const json::exception& e) {
    fail("[transform_from_json] invalid {} JSON: {}", type, e.what());
  }
}

void register_transform(const std::string& type, std::function<TransformPtr(const json&)> factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  transform_registry()[type] = std::move(factory);
}

namespace {

// x with column cols[k] replaced by low + (v - shift[k]) * mul[k] (the fitted scalers).
Tensor affine_columns(const Tensor& x, const std::vector<int64_t>& cols, const std::vector<double>& shift,
                      const std::vector<double>& mul, double low) {
  Tensor out = x.clone();
  float* p = out.data<float>();
  const int64_t n = x.size(0), f = x.size(1);
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < cols.size(); ++k) {
      float& v = p[i * f + cols[k]];
      v = static_cast<float>(low + (v - shift[k]) * mul[k]);
    }
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- StandardScaler

void StandardScaler::do_fit(const Tensor& x) {
  const int64_t n = x.size(0), f = x.size(1);
  const auto cols = resolve_columns(columns_, f, type());
  const float* p = x.data<float>();
  std::vector<double> mean(cols.size()), scale(cols.size());
  for (size_t k = 0; k < cols.size(); ++k) {
    double sum = 0, count = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = p[i * f + cols[k]];
      if (!std::isnan(v)) sum += v, count += 1;
    }
    FORGE_CHECK(count > 0, "[standard_scaler] column {} has no non-NaN values to fit", cols[k]);
    const double m = sum / count;
    double var = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = p[i * f + cols[k]];
      if (!std::isnan(v)) var += (v - m) * (v - m);
    }
    const double sd = std::sqrt(var / count);
    mean[k] = m;
    scale[k] = sd > 1e-12 * std::max(1.0, std::abs(m)) ? sd : 1.0;  // constant column: leave unscaled
  }
  num_features_ = f;
  mean_ = std::move(mean);
  scale_ = std::move(scale);
}

Tensor StandardScaler::do_transform(const Tensor& x) const {
  check_features(x, num_features_, type());
  std::vector<double> inv(scale_.size());
  for (size_t k = 0; k < scale_.size(); ++k) inv[k] = 1.0 / scale_[k];
  return affine_columns(x, resolve_columns(columns_, num_features_, type()), mean_, inv, 0.0);
}

json StandardScaler::to_json() const {
  return {{"type", type()}, {"columns", columns_}, {"num_features", num_features_}, {"mean", mean_}, {"scale", scale_}};
}

TransformPtr StandardScaler::from_json(const json& j) {
  auto t = std::make_shared<StandardScaler>(j.at("columns").get<std::vector<int64_t>>());
  t->num_features_ = j.at("num_features").get<int64_t>();
  t->mean_ = j.at("mean").get<std::vector<double>>();
  t->scale_ = j.at("scale").get<std::vector<double>>();
  const size_t k = resolve_columns(t->columns_, t->num_features_, t->type()).size();
  FORGE_CHECK(t->mean_.size() == k && t->scale_.size() == k,
              "[transform_from_json] standard_scaler has {} columns but {} means and {} scales", k, t->mean_.size(),
              t->scale_.size());
  return t;
}

// ---------------------------------------------------------------- MinMaxScaler

MinMaxScaler::MinMaxScaler(double low, double high, std::vector<int64_t> columns)
    : low_(low), high_(high), columns_(std::move(columns)) {
  FORGE_CHECK(low < high, "[min_max_scaler] feature range must have low < high, got [{}, {}]", low, high);
}

void MinMaxScaler::do_fit(const Tensor& x) {
  const int64_t n = x.size(0), f = x.size(1);
  const auto cols = resolve_columns(columns_, f, type());
  const float* p = x.data<float>();
  std::vector<double> mins(cols.size()), scale(cols.size());
  for (size_t k = 0; k < cols.size(); ++k) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (int64_t i = 0; i < n; ++i) {
      const double v = p[i * f + cols[k]];
      if (!std::isnan(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
    FORGE_CHECK(lo <= hi, "[min_max_scaler] column {} has no non-NaN values to fit", cols[k]);
    mins[k] = lo;
    scale[k] = hi > lo ? (high_ - low_) / (hi - lo) : 1.0;
  }
  num_features_ = f;
  min_ = std::move(mins);
  scale_ = std::move(scale);
}

Tensor MinMaxScaler::do_transform(const Tensor& x) const {
  check_features(x, num_features_, type());
  return affine_columns(x, resolve_columns(columns_, num_features_, type()), min_, scale_, low_);
}

json MinMaxScaler::to_json() const {
  return {{"type", type()}, {"low", low_},    {"high", high_}, {"columns", columns_}, {"num_features", num_features_},
          {"min", min_},    {"scale", scale_}};
}

TransformPtr MinMaxScaler::from_json(const json& j) {
  auto t = std::make_shared<MinMaxScaler>(j.at("low").get<double>(), j.at("high").get<double>(),
                                          j.at("columns").get<std::vector<int64_t>>());
  t->num_features_ = j.at("num_features").get<int64_t>();
  t->min_ = j.at("min").get<std::vector<double>>();
  t->scale_ = j.at("scale").get<std::vector<double>>();
  const size_t k = resolve_columns(t->columns_, t->num_features_, t->type()).size();
  FORGE_CHECK(t->min_.size() == k && t->scale_.size() == k,
              "[transform_from_json] min_max_scaler has {} columns but {} minimums and {} scales", k, t->min_.size(),
              t->scale_.size());
  return t;
}

// ---------------------------------------------------------------- OneHotEncoder

OneHotEncoder::OneHotEncoder(std::vector<int64_t> columns, bool ignore_unknown)
    : columns_(std::move(columns)), ignore_unknown_(ignore_unknown) {
  FORGE_CHECK(!columns_.empty(), "[one_hot_encoder] needs at least one column to encode");
}

void OneHotEncoder::do_fit(const Tensor& x) {
  const int64_t n = x.size(0), f = x.size(1);
  resolve_columns(columns_, f, type());
  const float* p = x.data<float>();
  std::vector<std::vector<double>> categories(columns_.size());
  for (size_t k = 0; k < columns_.size(); ++k) {
    std::set<double> seen;
    for (int64_t i = 0; i < n; ++i) {
      const double v = p[i * f + columns_[k]];
      if (!std::isnan(v)) seen.insert(v);
    }
    FORGE_CHECK(!seen.empty(), "[one_hot_encoder] column {} has no non-NaN values to fit", columns_[k]);
    categories[k].assign(seen.begin(), seen.end());
  }
  num_features_ = f;
  categories_ = std::move(categories);
}

Tensor OneHotEncoder::do_transform(const Tensor& x) const {
  check_features(x, num_features_, type());
  const int64_t n = x.size(0), f = x.size(1);
  std::vector<int64_t> slot(static_cast<size_t>(f), -1);  // input column -> index in columns_
  int64_t out_f = f;
  for (size_t k = 0; k < columns_.size(); ++k) {
    slot[static_cast<size_t>(columns_[k])] = static_cast<int64_t>(k);
    out_f += static_cast<int64_t>(categories_[k].size()) - 1;
  }
  Tensor out = zeros({n, out_f});
  const float* in = x.data<float>();
  float* o = out.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    int64_t j = 0;
    for (int64_t c = 0; c < f; ++c) {
      const float v = in[i * f + c];
      const int64_t k = slot[static_cast<size_t>(c)];
      if (k < 0) {
        o[i * out_f + j++] = v;
        continue;
      }
      const auto& cats = categories_[static_cast<size_t>(k)];
      if (!std::isnan(v)) {
        auto it = std::lower_bound(cats.begin(), cats.end(), static_cast<double>(v));
        if (it != cats.end() && *it == static_cast<double>(v)) {
          o[i * out_f + j + (it - cats.begin())] = 1.0f;
        } else {
          std::vector<std::string> known;
          for (double cat : cats) known.push_back(LabelEncoder::number_label(cat));
          FORGE_CHECK(ignore_unknown_, "[one_hot_encoder] column {} row {} has value {} not seen in fit (known: {})", c,
                      i, LabelEncoder::number_label(v), fmt::join(known, ", "));
        }
      }
      j += static_cast<int64_t>(cats.size());
    }
  }
  return out;
}

std::vector<std::string> OneHotEncoder::feature_names(const std::vector<std::string>& input) const {
  FORGE_CHECK(fitted(), "[one_hot_encoder] feature_names() before fit()");
  FORGE_CHECK(static_cast<int64_t>(input.size()) == num_features_,
              "[one_hot_encoder] was fitted on {} features, got {} names", num_features_, input.size());
  std::vector<std::string> out;
  for (size_t c = 0; c < input.size(); ++c) {
    auto it = std::find(columns_.begin(), columns_.end(), static_cast<int64_t>(c));
    if (it == columns_.end()) {
      out.push_back(input[c]);
      continue;
    }
    for (double cat : categories_[static_cast<size_t>(it - columns_.begin())]) {
      out.push_back(input[c] + "=" + LabelEncoder::number_label(cat));
    }
  }
  return out;
}

json OneHotEncoder::to_json() const {
  return {{"type", type()},
          {"columns", columns_},
          {"ignore_unknown", ignore_unknown_},
          {"num_features", num_features_},
          {"categories", categories_}};
}

TransformPtr OneHotEncoder::from_json(const json& j) {
  auto t =
      std::make_shared<OneHotEncoder>(j.at("columns").get<std::vector<int64_t>>(), j.at("ignore_unknown").get<bool>());
  t->num_features_ = j.at("num_features").get<int64_t>();
  t->categories_ = j.at("categories").get<std::vector<std::vector<double>>>();
  resolve_columns(t->columns_, t->num_features_, t->type());
  FORGE_CHECK(t->categories_.size() == t->columns_.size(),
              "[transform_from_json] one_hot_encoder has {} columns but {} category lists", t->columns_.size(),
              t->categories_.size());
  for (auto& cats : t->categories_) std::sort(cats.begin(), cats.end());
  return t;
}

// ---------------------------------------------------------------- LabelEncoder

std::string LabelEncoder::number_label(double value) { return fmt::format("{}", value); }

std::vector<std::string> LabelEncoder::sorted_unique(std::vector<std::string> labels) {
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  std::vector<double> values(labels.size());
  bool numeric = true;
  for (size_t i = 0; i < labels.size() && numeric; ++i) numeric = parse_number(labels[i], values[i]);
  if (numeric) {
    std::vector<size_t> order(labels.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
    std::vector<std::string> sorted;
    for (size_t i : order) sorted.push_back(labels[i]);
    return sorted;
  }
  return labels;
}

void LabelEncoder::fit_labels(const std::vector<std::string>& labels) {
  FORGE_CHECK(!labels.empty(), "[label_encoder] cannot fit on zero labels");
  classes_ = sorted_unique(labels);
}

int64_t LabelEncoder::find(std::string_view label) const {
  for (size_t i = 0; i < classes_.size(); ++i) {
    if (classes_[i] == label) return static_cast<int64_t>(i);
  }
  return -1;
}

Tensor LabelEncoder::encode(const std::vector<std::string>& labels) const {
  FORGE_CHECK(fitted(), "[label_encoder] encode() before fit(): fit it on the training split first");
  std::map<std::string_view, int64_t> index;
  for (size_t i = 0; i < classes_.size(); ++i) index[classes_[i]] = static_cast<int64_t>(i);
  Tensor out = empty({static_cast<int64_t>(labels.size())}, DType::kI64);
  int64_t* o = out.data<int64_t>();
  for (size_t i = 0; i < labels.size(); ++i) {
    auto it = index.find(labels[i]);
    FORGE_CHECK(it != index.end(), "[label_encoder] unknown label '{}' (known: {})", labels[i],
                fmt::join(classes_, ", "));
    o[i] = it->second;
  }
  return out;
}

const std::string& LabelEncoder::decode(int64_t index) const {
  FORGE_CHECK(index >= 0 && index < num_classes(), "[label_encoder] class id {} out of range [0, {})", index,
              num_classes());
  return classes_[static_cast<size_t>(index)];
}

void LabelEncoder::do_fit(const Tensor& x) {
  const int64_t n = x.size(0), f = x.size(1);
  const auto cols = resolve_columns(columns_, f, type());
  const float* p = x.data<float>();
  std::vector<std::string> labels;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c : cols) {
      const float v = p[i * f + c];
      if (!std::isnan(v)) labels.push_back(number_label(v));
    }
  }
  fit_labels(labels);
}

Tensor LabelEncoder::do_transform(const Tensor& x) const {
  const int64_t n = x.size(0), f = x.size(1);
  const auto cols = resolve_columns(columns_, f, type());
  Tensor out = x.clone();
  float* p = out.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c : cols) {
      float& v = p[i * f + c];
      if (std::isnan(v)) continue;
      const std::string label = number_label(v);
      const int64_t id = find(label);
      FORGE_CHECK(id >= 0, "[label_encoder] column {} row {} has value {} not seen in fit (known: {})", c, i, label,
                  fmt::join(classes_, ", "));
      v = static_cast<float>(id);
    }
  }
  return out;
}

json LabelEncoder::to_json() const { return {{"type", type()}, {"columns", columns_}, {"classes", classes_}}; }

TransformPtr LabelEncoder::from_json(const json& j) {
  auto t = std::make_shared<LabelEncoder>(j.at("columns").get<std::vector<int64_t>>());
  t->classes_ = j.at("classes").get<std::vector<std::string>>();
  return t;
}

// ---------------------------------------------------------------- Pipeline

Pipeline::Pipeline(TransformList steps) : steps_(std::move(steps)) {
  for (size_t i = 0; i < steps_.size(); ++i) {
    FORGE_CHECK(steps_[i] != nullptr, "[pipeline] step {} is null", i);
  }
}

bool Pipeline::fitted() const {
  return std::all_of(steps_.begin(), steps_.end(), [](const TransformPtr& t) { return t->fitted(); });
}

void Pipeline::do_fit(const Tensor& x) {
  Tensor current = x;
  for (size_t i = 0; i < steps_.size(); ++i) {
    steps_[i]->fit(current);
    if (i + 1 < steps_.size()) current = steps_[i]->transform(current);
  }
}

Tensor Pipeline::do_transform(const Tensor& x) const {
  Tensor current = x;
  for (const auto& step : steps_) current = step->transform(current);
  return current;
}

std::vector<std::string> Pipeline::feature_names(const std::vector<std::string>& input) const {
  std::vector<std::string> names = input;
  for (const auto& step : steps_) names = step->feature_names(names);
  return names;
}

json Pipeline::to_json() const {
  json steps = json::array();
  for (const auto& step : steps_) steps.push_back(step->to_json());
  return {{"type", type()}, {"steps", steps}};
}

TransformPtr Pipeline::from_json(const json& j) {
  TransformList steps;
  for (const auto& step : j.at("steps")) steps.push_back(transform_from_json(step));
  return std::make_shared<Pipeline>(std::move(steps));
}

// ---------------------------------------------------------------- TransformedDataset

TransformedDataset::TransformedDataset(DatasetPtr base, std::shared_ptr<const Transform> transform)
    : base_(std::move(base)), transform_(std::move(transform)) {
  FORGE_CHECK(base_ != nullptr && transform_ != nullptr, "[TransformedDataset] data set and transform must be set");
  FORGE_CHECK(transform_->fitted(),
              "[TransformedDataset] transform '{}' is not fitted: call fit() on the training split first",
              transform_->type());
}

Example TransformedDataset::get(int64_t index) const {
  Example e = base_->get(index);
  FORGE_CHECK(e.x.dim() == 1, "[TransformedDataset] transforms need feature rows (x of shape [F]), got {}",
              shape_str(e.x));
  e.x = transform_->transform(e.x.reshape({1, e.x.numel()})).reshape({-1});
  return e;
}

Example TransformedDataset::get_batch(std::span<const int64_t> indices) const {
  Example e = base_->get_batch(indices);
  FORGE_CHECK(e.x.dim() == 2, "[TransformedDataset] transforms need feature rows (x of shape [N, F]), got {}",
              shape_str(e.x));
  e.x = transform_->transform(e.x);
  return e;
}

}  // namespace forge
