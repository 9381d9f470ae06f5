// TOML run configuration -> RunConfig, with errors that name the file, the line and the key.
#include "train/config.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <toml++/toml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "data/datasets.h"

namespace forge::train {

namespace {

const char* type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a number";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date/time";
  }
}

// Reads values out of one parsed file; every failure names file:line and the key.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail_at(const toml::node* node, const std::string& message) const {
    const int64_t line = node != nullptr ? static_cast<int64_t>(node->source().begin.line) : 0;
    if (line > 0) forge::fail("[config] {}:{}: {}", file_, line, message);
    forge::fail("[config] {}: {}", file_, message);
  }

  // Rejects keys that are not in `valid`.
  void check_keys(const toml::table& table, const std::string& section, const std::vector<std::string>& valid) const {
    for (const auto& [key, node] : table) {
      const std::string k(key.str());
      if (std::find(valid.begin(), valid.end(), k) == valid.end()) {
        const int64_t line = static_cast<int64_t>(key.source().begin.line);
        forge::fail("[config] {}:{}: unknown key '{}' in {} (valid: {})", file_, line > 0 ? line : 0, k, section,
                    fmt::join(valid, ", "));
      }
    }
  }

  [[noreturn]] void wrong_type(const toml::node& node, const std::string& key, const std::string& section,
                               const char* expected) const {
    fail_at(&node, fmt::format("'{}' in {} must be {}, got {}", key, section, expected, type_name(node.type())));
  }

  std::string string(const toml::table& t, const std::string& key, const std::string& section,
                     const std::string& fallback) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return fallback;
    if (!node->is_string()) wrong_type(*node, key, section, "a string");
    return std::string(node->as_string()->get());
  }
  double number(const toml::table& t, const std::string& key, const std::string& section, double fallback) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return fallback;
    if (node->is_integer()) return static_cast<double>(node->as_integer()->get());
    if (!node->is_floating_point()) wrong_type(*node, key, section, "a number");
    return node->as_floating_point()->get();
  }
  int64_t integer(const toml::table& t, const std::string& key, const std::string& section, int64_t fallback,
                  int64_t min) const {
    const toml::node* node = t.get(key);
    if (node == nullptr) return fallback;
    if (!node->is_integer()) wrong_type(*node, key, section, "an integer");
    const int64_t v = node->as_integer()->get();
    if (v < min) fail_at(node, fmt::format("'{}' in {} must be at least {}, got {}", key, section, min, v));
    return v;
  }
  std::vector<std::string> strings(const toml::table& t, const std::string& key, const std::string& section) const {
    std::vector<std::string> out;
    const toml::node* node = t.get(key);
    if (node == nullptr) return out;
    if (node->is_string()) return {std::string(node->as_string()->get())};
    if (!node->is_array()) wrong_type(*node, key, section, "an array of strings");
    for (const toml::node& item : *node->as_array()) {
      if (!item.is_string()) wrong_type(item, key, section, "an array of strings");
      out.emplace_back(item.as_string()->get());
    }
    return out;
  }
  std::vector<int64_t> integers(const toml::table& t, const std::string& key, const std::string& section) const {
    std::vector<int64_t> out;
    const toml::node* node = t.get(key);
    if (node == nullptr) return out;
    if (!node->is_array()) wrong_type(*node, key, section, "an array of integers");
    for (const toml::node& item : *node->as_array()) {
      if (!item.is_integer() || item.as_integer()->get() < 1) {
        fail_at(&item, fmt::format("'{}' in {} must hold positive integers", key, section));
      }
      out.push_back(item.as_integer()->get());
    }
    return out;
  }
  void one_of(const toml::table& t, const std::string& key, const std::string& section, const std::string& value,
              const std::vector<std::string>& valid) const {
    if (std::find(valid.begin(), valid.end(), value) == valid.end()) {
      fail_at(t.get(key),
              fmt::format("'{}' in {} must be one of {}, got '{}'", key, section, fmt::join(valid, ", "), value));
    }
  }

  // TOML -> JSON, keeping integers as integers.
  nlohmann::json to_json(const toml::node& node) const {
    switch (node.type()) {
      case toml::node_type::table: {
        nlohmann::json out = nlohmann::json::object();
        for (const auto& [k, v] : *node.as_table()) out[std::string(k.str())] = to_json(v);
        return out;
      }
      case toml::node_type::array: {
        nlohmann::json out = nlohmann::json::array();
        for (const toml::node& v : *node.as_array()) out.push_back(to_json(v));
        return out;
      }
      case toml::node_type::string: return std::string(node.as_string()->get());
      case toml::node_type::integer: return node.as_integer()->get();
      case toml::node_type::floating_point: return node.as_floating_point()->get();
      case toml::node_type::boolean: return node.as_boolean()->get();
      default: fail_at(&node, "dates and times are not supported in run configs");
    }
  }

  const toml::table* section(const toml::table& root, const std::string& key, bool required) const {
    const toml::node* node = root.get(key);
    if (node == nullptr) {
      if (required) forge::fail("[config] {}: missing section [{}]", file_, key);
      return nullptr;
    }
    if (!node->is_table())
      fail_at(node, fmt::format("'{}' must be a section [{}], got {}", key, key, type_name(node->type())));
    return node->as_table();
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

std::string resolve(const std::string& path, const std::string& base_dir) {
  if (path.empty() || base_dir.empty() || std::filesystem::path(path).is_absolute()) return path;
  // Relative to the config file when it exists there, else relative to the working directory.
  const auto candidate = std::filesystem::path(base_dir) / path;
  if (std::filesystem::exists(candidate) || !std::filesystem::exists(path))
    return candidate.lexically_normal().string();
  return path;
}

TextConfig parse_text(const Reader& r, const toml::table& t) {
  const std::string s = "[data.text]";
  r.check_keys(t, s,
               {"num_words", "maxlen", "oov_token", "padding", "truncating", "lower", "filters", "split", "char_level"});
  TextConfig c;
  c.num_words = r.integer(t, "num_words", s, c.num_words, 0);
  c.maxlen = r.integer(t, "maxlen", s, c.maxlen, 1);
  c.oov_token = r.string(t, "oov_token", s, "");
  c.padding = r.string(t, "padding", s, c.padding);
  r.one_of(t, "padding", s, c.padding, {"pre", "post"});
  c.truncating = r.string(t, "truncating", s, c.truncating);
  r.one_of(t, "truncating", s, c.truncating, {"pre", "post"});
  c.filters = r.string(t, "filters", s, c.filters);
  c.split = r.string(t, "split", s, c.split);
  auto boolean = [&](const char* key, bool fallback) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return fallback;
    if (!node->is_boolean()) r.wrong_type(*node, key, s, "a boolean");
    return node->as_boolean()->get();
  };
  c.lower = boolean("lower", c.lower);
  c.char_level = boolean("char_level", c.char_level);
  if (c.split.empty() && !c.char_level) r.fail_at(t.get("split"), "'split' in [data.text] must not be empty");
  return c;
}

DataConfig parse_data(const Reader& r, const toml::table& t, const std::string& base_dir) {
  const std::string s = "[data]";
  r.check_keys(
      t, s,
      {"name", "csv", "test_csv", "target", "task", "categorical", "ignore", "encoding", "scale", "validation_split",
       "test_split", "image_shape", "normalize", "train_subset", "test_subset", "samples", "noise", "text_file",
       "text_column", "classes", "positive", "text"});
  DataConfig d;
  d.name = r.string(t, "name", s, "");
  d.csv = resolve(r.string(t, "csv", s, ""), base_dir);
  d.test_csv = resolve(r.string(t, "test_csv", s, ""), base_dir);
  d.text_file = resolve(r.string(t, "text_file", s, ""), base_dir);
  if (static_cast<int>(!d.name.empty()) + static_cast<int>(!d.csv.empty()) + static_cast<int>(!d.text_file.empty()) !=
      1) {
    r.fail_at(&t, fmt::format("[data] needs exactly one of 'name' (a built-in data set: {}), 'csv' (a file path) or "
                              "'text_file' (lines label<TAB>text)",
                              fmt::join(builtin_data_names(), ", ")));
  }
  d.text_column = r.string(t, "text_column", s, "");
  if (!d.text_column.empty() && d.csv.empty()) r.fail_at(t.get("text_column"), "'text_column' in [data] needs 'csv'");
  d.classes = r.strings(t, "classes", s);
  d.positive = r.string(t, "positive", s, "");
  if (!d.is_text() && (t.get("classes") || t.get("positive") || t.get("text"))) {
    r.fail_at(&t, "'classes', 'positive' and [data.text] apply to text data only (name = \"fortunes\", text_file, "
                  "or csv with text_column)");
  }
  if (!d.classes.empty() && !d.positive.empty()) r.fail_at(t.get("positive"), "use either 'classes' or 'positive'");
  if (const toml::table* tt = r.section(t, "text", false)) d.text = parse_text(r, *tt);
  if (!d.name.empty()) r.one_of(t, "name", s, d.name, builtin_data_names());
  d.target = r.string(t, "target", s, "");
  d.task = r.string(t, "task", s, d.task);
  r.one_of(t, "task", s, d.task, {"auto", "classification", "regression"});
  d.categorical = r.strings(t, "categorical", s);
  d.ignore = r.strings(t, "ignore", s);
  d.encoding = r.string(t, "encoding", s, d.encoding);
  r.one_of(t, "encoding", s, d.encoding, {"onehot", "label"});
  d.scale = r.string(t, "scale", s, d.scale);
  r.one_of(t, "scale", s, d.scale, {"standard", "minmax", "none"});
  d.validation_split = r.number(t, "validation_split", s, d.validation_split);
  if (d.validation_split < 0 || d.validation_split >= 1) {
    r.fail_at(t.get("validation_split"),
              fmt::format("'validation_split' in [data] must be in [0, 1), got {}", d.validation_split));
  }
  d.test_split = r.number(t, "test_split", s, d.test_split);
  if (d.test_split <= 0 || d.test_split >= 1) {
    r.fail_at(t.get("test_split"), fmt::format("'test_split' in [data] must be in (0, 1), got {}", d.test_split));
  }
  d.image_shape = r.integers(t, "image_shape", s);
  d.normalize = r.number(t, "normalize", s, 0);
  if (d.normalize < 0) r.fail_at(t.get("normalize"), "'normalize' in [data] must be positive");
  d.train_subset = r.integer(t, "train_subset", s, 0, 0);
  d.test_subset = r.integer(t, "test_subset", s, 0, 0);
  d.samples = r.integer(t, "samples", s, d.samples, 2);
  d.noise = r.number(t, "noise", s, d.noise);
  return d;
}

TrainConfig parse_train(const Reader& r, const toml::table& t) {
  const std::string s = "[train]";
  r.check_keys(t, s,
               {"optimizer", "lr", "loss", "metrics", "epochs", "batch_size", "seed", "threads", "clip_norm",
                "clip_value", "schedule", "precision", "class_weight"});
  TrainConfig c;
  if (const toml::node* opt = t.get("optimizer")) {
    if (opt->is_string()) {
      c.optimizer = {{"name", std::string(opt->as_string()->get())}};
    } else if (opt->is_table()) {
      c.optimizer = r.to_json(*opt);
      if (!c.optimizer.contains("name")) r.fail_at(opt, "'optimizer' in [train] needs a 'name' (e.g. \"adam\")");
    } else {
      r.wrong_type(*opt, "optimizer", s, "a string or a table");
    }
  }
  if (const toml::node* lr = t.get("lr")) {
    const double v = r.number(t, "lr", s, 0);
    if (!(v > 0)) r.fail_at(lr, fmt::format("'lr' in [train] must be positive, got {}", v));
    c.optimizer["lr"] = v;
  }
  c.loss = r.string(t, "loss", s, "");
  c.metrics = r.strings(t, "metrics", s);
  c.epochs = r.integer(t, "epochs", s, c.epochs, 1);
  c.batch_size = r.integer(t, "batch_size", s, c.batch_size, 1);
  c.seed = static_cast<uint64_t>(r.integer(t, "seed", s, 0, 0));
  c.threads = static_cast<int>(r.integer(t, "threads", s, 0, 0));
  c.clip_norm = r.number(t, "clip_norm", s, 0);
  c.clip_value = r.number(t, "clip_value", s, 0);
  if (const toml::node* sched = t.get("schedule")) {
    if (sched->is_string()) {
      c.schedule = {{"name", std::string(sched->as_string()->get())}};
    } else if (sched->is_table()) {
      c.schedule = r.to_json(*sched);
    } else {
      r.wrong_type(*sched, "schedule", s, "a string or a table");
    }
  }
  c.precision = r.string(t, "precision", s, c.precision);
  r.one_of(t, "precision", s, c.precision, {"fp32", "bf16"});
  if (const toml::node* cw = t.get("class_weight")) {
    if (!cw->is_table()) r.wrong_type(*cw, "class_weight", s, "a table like { 0 = 1.0, 1 = 5.0 }");
    for (const auto& [k, v] : *cw->as_table()) {
      int64_t cls = -1;
      try {
        size_t used = 0;
        cls = std::stoll(std::string(k.str()), &used);
        if (used != k.str().size()) cls = -1;
      } catch (const std::exception&) {
        cls = -1;
      }
      if (cls < 0 || !(v.is_integer() || v.is_floating_point())) {
        r.fail_at(&v, "'class_weight' in [train] maps class ids to numbers, e.g. { 0 = 1.0, 1 = 5.0 }");
      }
      c.class_weight[cls] = v.is_integer() ? static_cast<double>(v.as_integer()->get()) : v.as_floating_point()->get();
    }
  }
  return c;
}

RunConfig parse_root(const Reader& r, const toml::table& root, const std::string& base_dir) {
  r.check_keys(root, "the top level", {"name", "data", "model", "train", "callbacks"});
  RunConfig c;
  c.name = r.string(root, "name", "the top level", "");
  if (c.name.empty()) {
    c.name = std::filesystem::path(r.file()).stem().string();
    if (c.name == "config") c.name = std::filesystem::path(r.file()).parent_path().filename().string();
    if (c.name.empty()) c.name = "run";
  }
  for (char ch : c.name) {
    if (ch == '/' || ch == '\\')
      r.fail_at(root.get("name"), fmt::format("'name' must not contain '/', got '{}'", c.name));
  }
  c.data = parse_data(r, *r.section(root, "data", true), base_dir);

  const toml::table* model = r.section(root, "model", true);
  r.check_keys(*model, "[model]", {"layers"});
  const toml::node* layers = model->get("layers");
  if (layers == nullptr) r.fail_at(model, "[model] needs 'layers = [ { type = \"Dense\", units = 10 }, ... ]'");
  if (!layers->is_array() || layers->as_array()->empty()) {
    r.fail_at(layers, "'layers' in [model] must be a non-empty array of tables like { type = \"Dense\", units = 10 }");
  }
  int64_t index = 0;
  for (const toml::node& layer : *layers->as_array()) {
    if (!layer.is_table()) {
      r.fail_at(&layer,
                fmt::format("layer {} in [model] must be a table like {{ type = \"Dense\", units = 10 }}, got {}",
                            index, type_name(layer.type())));
    }
    const toml::node* type = layer.as_table()->get("type");
    if (type == nullptr || !type->is_string()) {
      r.fail_at(&layer, fmt::format("layer {} in [model] needs a string 'type' (e.g. type = \"Dense\")", index));
    }
    c.layers.push_back(r.to_json(layer));
    ++index;
  }

  if (const toml::table* train = r.section(root, "train", false)) c.train = parse_train(r, *train);
  if (const toml::table* callbacks = r.section(root, "callbacks", false)) {
    r.check_keys(*callbacks, "[callbacks]",
                 {"early_stopping", "reduce_lr_on_plateau", "csv_logger", "tensorboard", "model_checkpoint",
                  "terminate_on_nan", "lr_scheduler"});
    c.callbacks = r.to_json(*callbacks);
  }
  return c;
}

}  // namespace

nlohmann::json RunConfig::to_json() const {
  nlohmann::json cw = nlohmann::json::object();
  for (const auto& [k, v] : train.class_weight) cw[std::to_string(k)] = v;
  return {{"name", name},
          {"data",
           {{"name", data.name},
            {"csv", data.csv},
            {"test_csv", data.test_csv},
            {"target", data.target},
            {"task", data.task},
            {"categorical", data.categorical},
            {"ignore", data.ignore},
            {"encoding", data.encoding},
            {"scale", data.scale},
            {"validation_split", data.validation_split},
            {"test_split", data.test_split},
            {"image_shape", data.image_shape},
            {"normalize", data.normalize},
            {"train_subset", data.train_subset},
            {"test_subset", data.test_subset},
            {"samples", data.samples},
            {"noise", data.noise},
            {"text_file", data.text_file},
            {"text_column", data.text_column},
            {"classes", data.classes},
            {"positive", data.positive},
            {"text", data.text.to_json()}}},
          {"model", {{"layers", layers}}},
          {"train",
           {{"optimizer", train.optimizer},
            {"loss", train.loss},
            {"metrics", train.metrics},
            {"epochs", train.epochs},
            {"batch_size", train.batch_size},
            {"seed", train.seed},
            {"threads", train.threads},
            {"clip_norm", train.clip_norm},
            {"clip_value", train.clip_value},
            {"schedule", train.schedule},
            {"precision", train.precision},
            {"class_weight", cw}}},
          {"callbacks", callbacks}};
}

nlohmann::json TextConfig::to_json() const {
  return {{"num_words", num_words}, {"maxlen", maxlen}, {"oov_token", oov_token}, {"padding", padding},
          {"truncating", truncating}, {"lower", lower},     {"filters", filters},     {"split", split},
          {"char_level", char_level}};
}

TextConfig TextConfig::from_json(const nlohmann::json& j) {
  TextConfig c;
  if (!j.is_object()) return c;
  c.num_words = j.value("num_words", c.num_words);
  c.maxlen = j.value("maxlen", c.maxlen);
  c.oov_token = j.value("oov_token", c.oov_token);
  c.padding = j.value("padding", c.padding);
  c.truncating = j.value("truncating", c.truncating);
  c.lower = j.value("lower", c.lower);
  c.filters = j.value("filters", c.filters);
  c.split = j.value("split", c.split);
  c.char_level = j.value("char_level", c.char_level);
  return c;
}

std::vector<std::string> builtin_data_names() {
  std::vector<std::string> names = builtin_dataset_names();
  names.push_back("fashion-mnist");
  names.push_back("synthetic-linear");
  names.push_back("fortunes");
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

RunConfig parse_run_config(const std::string& text, const std::string& name, const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    forge::fail("[config] {}:{}: {}", name, e.source().begin.line, e.description());
  }
  RunConfig config = parse_root(Reader(name), root, base_dir);
  return config;
}

RunConfig load_run_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  FORGE_CHECK(in.good(), "[config] {}: cannot open the config file (no such file or not readable)", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string base = std::filesystem::path(path).parent_path().string();
  RunConfig config = parse_run_config(buffer.str(), path, base);
  config.path = path;
  return config;
}

}  // namespace forge::train
