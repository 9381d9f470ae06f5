#include "data/datasets.h"

#include <charconv>
#include <filesystem>
#include <functional>
#include <map>

#include "data/csv.h"
#include "data/fashion_mnist.h"
#include "data/gzip.h"

namespace forge {

namespace {

constexpr const char* kSklearnDir = "/usr/lib/python3/dist-packages/sklearn/datasets/data";
constexpr const char* kSklearnPackage = "python3-sklearn";

struct Entry {
  std::string package;
  std::string directory;
  std::function<BuiltinDataset(const std::string& name, const std::string& dir)> load;
};

std::string path_in(const std::string& name, const Entry& entry, const std::string& dir, const std::string& file) {
  const std::string path = (std::filesystem::path(dir) / file).string();
  FORGE_CHECK(std::filesystem::exists(path),
              "[datasets] {} needs the Debian package {}: apt-get install {} ({} not found)", name, entry.package,
              entry.package, path);
  return path;
}

CsvTable read_text_table(const std::string& path, char delimiter) {
  auto source = open_file_decompressed(path);
  return parse_csv(std::string_view(reinterpret_cast<const char*>(source->data()), source->size()), path,
                   {.delimiter = delimiter, .header = false});
}

float to_float(const std::string& value, const std::string& file, int64_t line) {
  double d = 0;
  const auto r = std::from_chars(value.data(), value.data() + value.size(), d);
  FORGE_CHECK(r.ec == std::errc() && r.ptr == value.data() + value.size(), "[datasets] {}:{}: '{}' is not a number",
              file, line, value);
  return static_cast<float>(d);
}

// Columns [0, features) of a table as x [N, features] float32; column `target` (if >= 0) as y.
void fill(const CsvTable& table, int64_t features, int64_t target, bool classification, BuiltinDataset& out) {
  const int64_t n = table.num_rows();
  out.x = empty({n, features});
  float* x = out.x.data<float>();
  for (int64_t i = 0; i < n; ++i) {
    const auto& row = table.rows[static_cast<size_t>(i)];
    for (int64_t j = 0; j < features; ++j)
      x[i * features + j] = to_float(row[static_cast<size_t>(j)], table.name, table.lines[static_cast<size_t>(i)]);
  }
  if (target < 0) return;
  out.y = empty({n}, classification ? DType::kI64 : DType::kF32);
  for (int64_t i = 0; i < n; ++i) {
    const float v = to_float(table.rows[static_cast<size_t>(i)][static_cast<size_t>(target)], table.name,
                             table.lines[static_cast<size_t>(i)]);
    if (classification) {
      out.y.data<int64_t>()[i] = static_cast<int64_t>(v);
    } else {
      out.y.data<float>()[i] = v;
    }
  }
}

// sklearn's CSV layout: a first line "n_samples,n_features,label_0,label_1,...", then rows of
// n_features values followed by the integer class id.
BuiltinDataset load_sklearn_csv(const std::string& name, const std::string& path, std::vector<std::string> features) {
  auto source = open_file_decompressed(path);
  std::string_view text(reinterpret_cast<const char*>(source->data()), source->size());
  const size_t eol = text.find('\n');
  FORGE_CHECK(eol != std::string_view::npos, "[datasets] {}: missing the count line", path);
  const CsvTable head = parse_csv(text.substr(0, eol + 1), path, {.header = false});
  FORGE_CHECK(head.num_columns() >= 3, "[datasets] {}:1: expected 'n_samples,n_features,labels...'", path);
  const int64_t n = static_cast<int64_t>(to_float(head.rows[0][0], path, 1));
  const int64_t f = static_cast<int64_t>(to_float(head.rows[0][1], path, 1));
  CsvTable table = parse_csv(text.substr(eol + 1), path, {.header = false});
  for (auto& line : table.lines) line += 1;  // the count line was cut off
  FORGE_CHECK(table.num_rows() == n && table.num_columns() == f + 1 && static_cast<int64_t>(features.size()) == f,
              "[datasets] {}: expected {} rows of {} values, found {} rows of {}", path, n, f + 1, table.num_rows(),
              table.num_columns());
  BuiltinDataset out;
  out.name = name;
  fill(table, f, f, true, out);
  out.feature_names = std::move(features);
  out.label_names.assign(head.rows[0].begin() + 2, head.rows[0].end());
  const int64_t* y = out.y.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    FORGE_CHECK(y[i] >= 0 && y[i] < static_cast<int64_t>(out.label_names.size()),
                "[datasets] {}:{}: class id {} out of range ({} labels)", path, table.lines[static_cast<size_t>(i)],
                y[i], out.label_names.size());
  }
  return out;
}

const std::map<std::string, Entry>& registry() {
  static const std::map<std::string, Entry> entries = [] {
    std::map<std::string, Entry> m;
    const auto sklearn = [&](const std::string& name,
                             std::function<BuiltinDataset(const std::string&, const std::string&)> load) {
      m[name] = Entry{kSklearnPackage, kSklearnDir, std::move(load)};
    };
    sklearn("iris", [](const std::string& name, const std::string& dir) {
      return load_sklearn_csv(name, path_in(name, registry().at(name), dir, "iris.csv"),
                              {"sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"});
    });
    sklearn("wine", [](const std::string& name, const std::string& dir) {
      return load_sklearn_csv(name, path_in(name, registry().at(name), dir, "wine_data.csv"),
                              {"alcohol", "malic_acid", "ash", "alcalinity_of_ash", "magnesium", "total_phenols",
                               "flavanoids", "nonflavanoid_phenols", "proanthocyanins", "color_intensity", "hue",
                               "od280/od315_of_diluted_wines", "proline"});
    });
    sklearn("breast-cancer", [](const std::string& name, const std::string& dir) {
      std::vector<std::string> features;
      for (const char* group : {"mean ", "", "worst "}) {
        for (const char* what : {"radius", "texture", "perimeter", "area", "smoothness", "compactness", "concavity",
                                 "concave points", "symmetry", "fractal dimension"}) {
          features.push_back(std::string(group) + what + (std::string(group).empty() ? " error" : ""));
        }
      }
      return load_sklearn_csv(name, path_in(name, registry().at(name), dir, "breast_cancer.csv"), features);
    });
    sklearn("diabetes", [](const std::string& name, const std::string& dir) {
      const Entry& entry = registry().at(name);
      const CsvTable data = read_text_table(path_in(name, entry, dir, "diabetes_data_raw.csv.gz"), ' ');
      const CsvTable target = read_text_table(path_in(name, entry, dir, "diabetes_target.csv.gz"), ' ');
      FORGE_CHECK(data.num_columns() == 10 && target.num_columns() == 1 && data.num_rows() == target.num_rows(),
                  "[datasets] diabetes: expected 10 feature columns and one target per row, got {}x{} and {}x{}",
                  data.num_rows(), data.num_columns(), target.num_rows(), target.num_columns());
      BuiltinDataset out, y;
      out.name = name;
      fill(data, 10, -1, false, out);
      fill(target, 0, 0, false, y);
      out.y = y.y;
      out.classification = false;
      out.feature_names = {"age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"};
      return out;
    });
    sklearn("digits", [](const std::string& name, const std::string& dir) {
      const CsvTable table = read_text_table(path_in(name, registry().at(name), dir, "digits.csv.gz"), ',');
      FORGE_CHECK(table.num_columns() == 65,
                  "[datasets] digits: expected 64 pixels and a label per row, got {} columns", table.num_columns());
      BuiltinDataset out;
      out.name = name;
      fill(table, 64, 64, true, out);
      for (int r = 0; r < 8; ++r) {
        for (int c = 0; c < 8; ++c) out.feature_names.push_back(fmt::format("pixel_{}_{}", r, c));
      }
      for (int k = 0; k < 10; ++k) out.label_names.push_back(std::to_string(k));
      return out;
    });
    m["fashion-mnist"] =
        Entry{"dataset-fashion-mnist", kFashionMnistDir, [](const std::string& name, const std::string& dir) {
                const Entry& entry = registry().at(name);
                FORGE_CHECK(fashion_mnist_available(dir),
                            "[datasets] {} needs the Debian package {}: apt-get install {} (files not found in {})",
                            name, entry.package, entry.package, dir);
                FashionMnist data = load_fashion_mnist(dir);
                BuiltinDataset out;
                out.x = data.train_images;
                out.y = data.train_labels;
                out.x_test = data.test_images;
                out.y_test = data.test_labels;
                for (int r = 0; r < 28; ++r) {
                  for (int c = 0; c < 28; ++c) out.feature_names.push_back(fmt::format("pixel_{}_{}", r, c));
                }
                out.label_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
                return out;
              }};
    return m;
  }();
  return entries;
}

const Entry& entry_for(const std::string& name) {
  auto it = registry().find(name);
  FORGE_CHECK(it != registry().end(), "[datasets] unknown data set '{}' (known: {})", name,
              fmt::join(builtin_dataset_names(), ", "));
  return it->second;
}

}  // namespace

std::vector<std::string> builtin_dataset_names() {
  std::vector<std::string> names;
  for (const auto& [name, entry] : registry()) names.push_back(name);
  return names;
}

DatasetSource dataset_source(const std::string& name) {
  const Entry& entry = entry_for(name);
  return {entry.directory, entry.package};
}

BuiltinDataset load_dataset(const std::string& name, const std::string& directory) {
  const Entry& entry = entry_for(name);
  BuiltinDataset out = entry.load(name, directory.empty() ? entry.directory : directory);
  out.name = name;
  return out;
}

}  // namespace forge
