// Model persistence: model directories and checkpoints, written crash-safely.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "formats/byte_source.h"
#include "formats/safetensors.h"
#include "optim/state.h"
#include "train/model.h"
#include "train/callback_state.h"

namespace forge::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kFormat = "forge.model";
constexpr int kVersion = 1;

std::function<void(const std::string&)>& write_hook() {
  static std::function<void(const std::string&)> hook;
  return hook;
}

void after_write(const std::string& path) {
  if (write_hook()) write_hook()(path);
}

void write_json(const std::string& path, const json& j) {
  const std::string text = j.dump(2) + "\n";
  write_file_atomic(path, [&](std::FILE* f) {
    FORGE_CHECK(std::fwrite(text.data(), 1, text.size(), f) == text.size(), "[save] {}: write failed", path);
  });
  after_write(path);
}

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string parent_of(const std::string& dir) {
  fs::path p = fs::path(dir).lexically_normal();
  if (p.has_filename() == false) p = p.parent_path();
  fs::path parent = p.parent_path();
  return parent.empty() ? "." : parent.string();
}

// Non-finite doubles as strings (JSON has no NaN).
json number_json(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}
double json_number(const json& j) {
  if (j.is_string()) {
    const auto s = j.get<std::string>();
    if (s == "inf") return INFINITY;
    if (s == "-inf") return -INFINITY;
    return std::nan("");
  }
  return j.get<double>();
}

json history_json(const History& h) {
  json arr = json::array();
  for (const auto& e : h.epochs) {
    json o = json::object();
    for (const auto& [k, v] : e) o[k] = number_json(v);
    arr.push_back(o);
  }
  return arr;
}

History history_from(const json& arr) {
  History h;
  for (const auto& e : arr) {
    std::map<std::string, double> m;
    for (const auto& [k, v] : e.items()) m[k] = json_number(v);
    h.epochs.push_back(m);
  }
  return h;
}

json read_json(const std::string& path, const char* what) {
  FORGE_CHECK(fs::exists(path), "[{}] {}: missing (not a model directory, or an interrupted save?)", what, path);
  std::ifstream in(path);
  FORGE_CHECK(in.good(), "[{}] {}: cannot open", what, path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return json::parse(ss.str());
  } catch (const json::exception& e) {
    fail("[{}] {}: corrupt JSON: {}", what, path, e.what());
  }
}

NamedTensors load_weights(const std::string& path, const char* what) {
  FORGE_CHECK(fs::exists(path), "[{}] {}: missing (not a model directory, or an interrupted save?)", what, path);
  SafetensorsFile file;
  try {
    file = load_safetensors(path);
  } catch (const Error& e) {
    fail("[{}] {}: corrupt weights file: {}", what, path, e.what());
  }
  NamedTensors out;
  for (const auto& [name, t] : file.tensors) out.push_back({name, t.clone()});
  return out;
}

json compile_json(const CompileOptions& o) {
  return {{"optimizer", o.optimizer}, {"loss", o.loss},           {"metrics", o.metrics},
          {"schedule", o.schedule},   {"clip_norm", o.clip_norm}, {"clip_value", o.clip_value},
          {"precision", o.precision}};
}

CompileOptions compile_from(const json& j) {
  CompileOptions o;
  if (j.contains("optimizer")) o.optimizer = j["optimizer"];
  if (j.contains("loss")) o.loss = j["loss"].get<std::string>();
  if (j.contains("metrics")) o.metrics = j["metrics"].get<std::vector<std::string>>();
  if (j.contains("schedule")) o.schedule = j["schedule"];
  if (j.contains("clip_norm")) o.clip_norm = j["clip_norm"].get<double>();
  if (j.contains("clip_value")) o.clip_value = j["clip_value"].get<double>();
  if (j.contains("precision")) o.precision = j["precision"].get<std::string>();
  return o;
}

}  // namespace

void Model::set_write_hook(std::function<void(const std::string& path)> hook) { write_hook() = std::move(hook); }

json Model::config_json() const {
  json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["input_shape"] = input_shape_;
  j["network"] = network_->name();
  j["layers"] = layer_specs_;
  j["compile"] = compiled() ? compile_json(compile_options_) : json(nullptr);
  j["extra"] = extra_;
  return j;
}

void Model::write_dir(const std::string& dir, const std::function<void(const std::string& tmp)>& extra_files) const {
  FORGE_CHECK(!dir.empty(), "[save] the directory name is empty");
  std::string clean = fs::path(dir).lexically_normal().string();
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  const std::string tmp = clean + ".tmp";
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  FORGE_CHECK(!ec, "[save] cannot create {}: {}", tmp, ec.message());

  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& t : network_->state()) tensors.emplace_back(t.name, t.tensor.detach());
  const std::string weights = tmp + "/model.safetensors";
  save_safetensors(weights, tensors, {{"format", kFormat}});
  after_write(weights);
  write_json(tmp + "/model.json", config_json());
  if (extra_files) extra_files(tmp);
  fsync_path(tmp);

  // Swap the complete new directory in atomically: `clean` is always either the old or the new.
  if (fs::exists(clean)) {
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, clean.c_str(), RENAME_EXCHANGE) == 0) {
      fs::remove_all(tmp, ec);
    } else {
      // Fallback without an atomic exchange: old -> .old, tmp -> dir; load() recovers ".old".
      const std::string old = clean + ".old";
      fs::remove_all(old, ec);
      FORGE_CHECK(std::rename(clean.c_str(), old.c_str()) == 0, "[save] cannot move {} aside: {}", clean,
                  std::strerror(errno));
      FORGE_CHECK(std::rename(tmp.c_str(), clean.c_str()) == 0, "[save] cannot rename {} to {}: {}", tmp, clean,
                  std::strerror(errno));
      fs::remove_all(old, ec);
    }
  } else {
    FORGE_CHECK(std::rename(tmp.c_str(), clean.c_str()) == 0, "[save] cannot rename {} to {}: {}", tmp, clean,
                std::strerror(errno));
  }
  fsync_path(parent_of(clean));
}

void Model::save(const std::string& dir) const { write_dir(dir, nullptr); }

namespace {
// The directory to read: `dir`, or "<dir>.old" left by an interrupted non-atomic swap.
std::string readable_dir(const std::string& dir, const char* what) {
  std::string clean = fs::path(dir).lexically_normal().string();
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  if (!fs::exists(clean) && fs::exists(clean + ".old")) return clean + ".old";
  FORGE_CHECK(fs::exists(clean), "[{}] {}: no such directory", what, dir);
  FORGE_CHECK(fs::is_directory(clean), "[{}] {}: not a directory", what, dir);
  return clean;
}
}  // namespace

Model Model::load(const std::string& dir) {
  const std::string d = readable_dir(dir, "load_model");
  const json j = read_json(d + "/model.json", "load_model");
  const std::string where = d + "/model.json";
  FORGE_CHECK(j.is_object() && j.value("format", "") == kFormat,
              "[load_model] {}: not a Forge model file (expected \"format\": \"{}\")", where, kFormat);
  FORGE_CHECK(j.contains("input_shape") && j["input_shape"].is_array(), "[load_model] {}: missing \"input_shape\"",
              where);
  FORGE_CHECK(j.contains("layers") && j["layers"].is_array(),
              "[load_model] {}: no \"layers\" specs; the model was built in C++ from a network and cannot be "
              "rebuilt from its directory",
              where);
  Shape input_shape;
  try {
    input_shape = j["input_shape"].get<Shape>();
  } catch (const json::exception& e) {
    fail("[load_model] {}: bad \"input_shape\": {}", where, e.what());
  }
  Model model = from_config(j["layers"], input_shape);
  const std::string weights = d + "/model.safetensors";
  NamedTensors state = load_weights(weights, "load_model");
  try {
    model.network_->load_state(state);
  } catch (const Error& e) {
    fail("[load_model] {}: weights do not match the architecture in model.json: {}", weights, e.what());
  }
  if (j.contains("extra") && j["extra"].is_object()) model.extra_ = j["extra"];
  if (j.contains("compile") && j["compile"].is_object()) {
    try {
      model.compile(compile_from(j["compile"]));
    } catch (const json::exception& e) {
      fail("[load_model] {}: bad \"compile\" entry: {}", where, e.what());
    }
  }
  return model;
}

void Model::save_checkpoint(const std::string& dir, int64_t next_epoch, const History& history) const {
  FORGE_CHECK(compiled(), "[save_checkpoint] the model is not compiled: call compile() first");
  write_dir(dir, [&](const std::string& tmp) {
    const std::string opt = tmp + "/optimizer.safetensors";
    save_optimizer_state(opt, *optimizer_);
    after_write(opt);
    json gens = json::object();
    for (const auto& [path, module] : network_->named_modules()) {
      const Generator::State st = module->generator().state();
      gens[path.empty() ? "." : path] = {
          {"s", st.s}, {"spare_normal", number_json(st.spare_normal)}, {"has_spare", st.has_spare}};
    }
    NamedTensors cb_tensors;
    json cb_states = callback_states(active_callbacks_, &cb_tensors);
    if (!cb_tensors.empty()) {
      std::vector<std::pair<std::string, Tensor>> tensors;
      for (const auto& t : cb_tensors) tensors.emplace_back(t.name, t.tensor);
      save_safetensors(tmp + "/callbacks.safetensors", tensors, {{"format", kFormat}});
      after_write(tmp + "/callbacks.safetensors");
    }
    json ck = {{"next_epoch", next_epoch},
               {"history", history_json(history)},
               {"generators", gens},
               {"callbacks", cb_states}};
    write_json(tmp + "/checkpoint.json", ck);
  });
}

int64_t Model::load_checkpoint(const std::string& dir, History* history) {
  FORGE_CHECK(compiled(), "[load_checkpoint] the model is not compiled: call compile() first");
  const std::string d = readable_dir(dir, "load_checkpoint");
  const json ck = read_json(d + "/checkpoint.json", "load_checkpoint");
  const std::string where = d + "/checkpoint.json";
  FORGE_CHECK(ck.is_object() && ck.contains("next_epoch") && ck["next_epoch"].is_number_integer(),
              "[load_checkpoint] {}: missing \"next_epoch\"", where);
  NamedTensors state = load_weights(d + "/model.safetensors", "load_checkpoint");
  const std::string opt = d + "/optimizer.safetensors";
  FORGE_CHECK(fs::exists(opt), "[load_checkpoint] {}: missing", opt);
  // Validate everything before changing the model: weights first (load_state is all-or-nothing).
  try {
    network_->load_state(state);
  } catch (const Error& e) {
    fail("[load_checkpoint] {}/model.safetensors: does not match the model: {}", d, e.what());
  }
  load_optimizer_state(opt, *optimizer_);
  History h;
  try {
    if (ck.contains("generators")) {
      for (auto& [path, module] : network_->named_modules()) {
        const std::string key = path.empty() ? "." : path;
        if (!ck["generators"].contains(key)) continue;
        const json& g = ck["generators"][key];
        Generator::State st{};
        st.s = g["s"].get<std::array<uint64_t, 4>>();
        st.spare_normal = json_number(g["spare_normal"]);
        st.has_spare = g["has_spare"].get<bool>();
        module->generator().set_state(st);
      }
    }
    if (ck.contains("history")) h = history_from(ck["history"]);
  } catch (const json::exception& e) {
    fail("[load_checkpoint] {}: corrupt entry: {}", where, e.what());
  }
  NamedTensors cb_tensors;
  if (fs::exists(d + "/callbacks.safetensors")) cb_tensors = load_weights(d + "/callbacks.safetensors", "load_checkpoint");
  pending_callback_state_ = ck.contains("callbacks") ? ck["callbacks"] : json(nullptr);
  pending_callback_tensors_ = std::move(cb_tensors);
  history_ = h;
  if (history) *history = h;
  return ck["next_epoch"].get<int64_t>();
}

}  // namespace forge::train
