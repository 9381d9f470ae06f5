#include "nn/factory.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <optional>

#include "core/error.h"
#include "nn/layers/attention.h"
#include "nn/layers/conv.h"
#include "nn/layers/core.h"
#include "nn/layers/dropout.h"
#include "nn/layers/embedding.h"
#include "nn/layers/norm.h"
#include "nn/layers/pool.h"
#include "nn/layers/recurrent.h"

namespace forge::nn {
namespace {

using nlohmann::json;

std::string json_type_name(const json& v) {
  if (v.is_boolean()) return "a boolean";
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number_float()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

// Reads a layer's arguments; every accessor checks the JSON type. `where` prefixes errors.
class Args {
 public:
  Args(const json& spec, std::string where) : spec_(spec), where_(std::move(where)) {}

  bool has(const std::string& key) const { return spec_.contains(key); }

  int64_t integer(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    if (!has(key)) return required(key, fallback);
    const json& v = spec_.at(key);
    if (v.is_number_integer() || v.is_number_unsigned()) return v.get<int64_t>();
    if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>())))
      return static_cast<int64_t>(v.get<double>());
    fail("{}argument '{}' must be an integer, got {} ({})", where_, key, json_type_name(v), v.dump());
  }
  double number(const std::string& key, std::optional<double> fallback = std::nullopt) const {
    if (!has(key)) return required(key, fallback);
    const json& v = spec_.at(key);
    FORGE_CHECK(v.is_number(), "{}argument '{}' must be a number, got {} ({})", where_, key, json_type_name(v),
                v.dump());
    return v.get<double>();
  }
  bool boolean(const std::string& key, bool fallback) const {
    if (!has(key)) return fallback;
    const json& v = spec_.at(key);
    FORGE_CHECK(v.is_boolean(), "{}argument '{}' must be a boolean (true/false), got {} ({})", where_, key,
                json_type_name(v), v.dump());
    return v.get<bool>();
  }
  std::string string(const std::string& key, std::optional<std::string> fallback = std::nullopt) const {
    if (!has(key)) return required(key, fallback);
    const json& v = spec_.at(key);
    FORGE_CHECK(v.is_string(), "{}argument '{}' must be a string, got {} ({})", where_, key, json_type_name(v),
                v.dump());
    return v.get<std::string>();
  }
  // An int n (meaning [n, n]) or a pair [h, w].
  std::array<int64_t, 2> pair(const std::string& key,
                              std::optional<std::array<int64_t, 2>> fallback = std::nullopt) const {
    if (!has(key)) return required(key, fallback);
    const json& v = spec_.at(key);
    if (v.is_number_integer() || v.is_number_unsigned()) return {v.get<int64_t>(), v.get<int64_t>()};
    FORGE_CHECK(v.is_array() && v.size() == 2 && v[0].is_number_integer() && v[1].is_number_integer(),
                "{}argument '{}' must be an integer or a pair of integers [h, w], got {} ({})", where_, key,
                json_type_name(v), v.dump());
    return {v[0].get<int64_t>(), v[1].get<int64_t>()};
  }
  // An int n or a one-element list [n] (Keras accepts tuples for 1-d layers).
  int64_t single(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    if (has(key) && spec_.at(key).is_array()) {
      const json& v = spec_.at(key);
      FORGE_CHECK(v.size() == 1 && v[0].is_number_integer(), "{}argument '{}' must be an integer or [n], got {} ({})",
                  where_, key, json_type_name(v), v.dump());
      return v[0].get<int64_t>();
    }
    return integer(key, fallback);
  }
  int64_t positive(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    int64_t n = integer(key, fallback);
    FORGE_CHECK(n > 0, "{}argument '{}' must be positive, got {}", where_, key, n);
    return n;
  }

 private:
  template <typename T>
  T required(const std::string& key, const std::optional<T>& fallback) const {
    FORGE_CHECK(fallback.has_value(), "{}missing required argument '{}'", where_, key);
    return *fallback;
  }
  const json& spec_;
  std::string where_;
};

struct LayerEntry {
  std::vector<std::string> arguments;
  std::function<ModulePtr(const Args&)> build;
};

const std::vector<std::string> kConvArgs = {
    "filters",         "kernel_size", "strides",  "padding",        "dilation_rate",
    "groups",          "activation",  "use_bias", "input_channels", "kernel_initializer",
    "bias_initializer"};

ModulePtr build_pool1d(Pool1D::Kind kind, const Args& a) {
  Pool1DOptions o;
  o.strides = a.single("strides", 0);
  o.padding = a.string("padding", "valid");
  return std::make_shared<Pool1D>(kind, a.single("pool_size", 2), o);
}
ModulePtr build_pool2d(Pool2D::Kind kind, const Args& a) {
  Pool2DOptions o;
  o.strides = a.pair("strides", std::array<int64_t, 2>{0, 0});
  o.padding = a.string("padding", "valid");
  return std::make_shared<Pool2D>(kind, a.pair("pool_size", std::array<int64_t, 2>{2, 2}), o);
}
RecurrentOptions recurrent_options(const Args& a) {
  RecurrentOptions o;
  o.return_sequences = a.boolean("return_sequences", false);
  o.use_bias = a.boolean("use_bias", true);
  o.input_size = a.integer("input_dim", 0);
  return o;
}

const std::map<std::string, LayerEntry>& registry() {
  static const std::map<std::string, LayerEntry> table = [] {
    std::map<std::string, LayerEntry> t;
    const std::vector<std::string> pool_args = {"pool_size", "strides", "padding"};
    t["Dense"] = {{"units", "activation", "use_bias", "input_dim", "kernel_initializer", "bias_initializer"},
                  [](const Args& a) -> ModulePtr {
                    DenseOptions o;
                    o.activation = a.string("activation", "linear");
                    o.use_bias = a.boolean("use_bias", true);
                    o.input_dim = a.integer("input_dim", 0);
                    o.kernel_initializer = a.string("kernel_initializer", "glorot_uniform");
                    o.bias_initializer = a.string("bias_initializer", "zeros");
                    return std::make_shared<Dense>(a.positive("units"), o);
                  }};
    t["Flatten"] = {{}, [](const Args&) -> ModulePtr { return std::make_shared<Flatten>(); }};
    t["Activation"] = {{"activation"},
                       [](const Args& a) -> ModulePtr { return std::make_shared<Activation>(a.string("activation")); }};
    t["Dropout"] = {{"rate"}, [](const Args& a) -> ModulePtr { return std::make_shared<Dropout>(a.number("rate")); }};
    t["Embedding"] = {{"input_dim", "output_dim", "padding_idx", "embeddings_initializer"},
                      [](const Args& a) -> ModulePtr {
                        EmbeddingOptions o;
                        o.padding_idx = a.integer("padding_idx", -1);
                        o.embeddings_initializer = a.string("embeddings_initializer", "random_uniform");
                        return std::make_shared<Embedding>(a.positive("input_dim"), a.positive("output_dim"), o);
                      }};
    t["BatchNormalization"] = {{"momentum", "epsilon", "center", "scale", "num_features"},
                               [](const Args& a) -> ModulePtr {
                                 BatchNormalizationOptions o;
                                 o.momentum = a.number("momentum", 0.1);
                                 o.epsilon = a.number("epsilon", 1e-5);
                                 o.center = a.boolean("center", true);
                                 o.scale = a.boolean("scale", true);
                                 o.num_features = a.integer("num_features", 0);
                                 return std::make_shared<BatchNormalization>(o);
                               }};
    t["LayerNormalization"] = {{"epsilon", "center", "scale"}, [](const Args& a) -> ModulePtr {
                                 LayerNormalizationOptions o;
                                 o.epsilon = a.number("epsilon", 1e-5);
                                 o.center = a.boolean("center", true);
                                 o.scale = a.boolean("scale", true);
                                 return std::make_shared<LayerNormalization>(o);
                               }};
    t["Conv1D"] = {kConvArgs, [](const Args& a) -> ModulePtr {
                     Conv1DOptions o;
                     o.strides = a.single("strides", 1);
                     o.padding = a.string("padding", "valid");
                     o.dilation_rate = a.single("dilation_rate", 1);
                     o.groups = a.integer("groups", 1);
                     o.activation = a.string("activation", "linear");
                     o.use_bias = a.boolean("use_bias", true);
                     o.in_channels = a.integer("input_channels", 0);
                     o.kernel_initializer = a.string("kernel_initializer", "glorot_uniform");
                     o.bias_initializer = a.string("bias_initializer", "zeros");
                     return std::make_shared<Conv1D>(a.positive("filters"), a.single("kernel_size"), o);
                   }};
    t["Conv2D"] = {kConvArgs, [](const Args& a) -> ModulePtr {
                     Conv2DOptions o;
                     o.strides = a.pair("strides", std::array<int64_t, 2>{1, 1});
                     o.padding = a.string("padding", "valid");
                     o.dilation_rate = a.pair("dilation_rate", std::array<int64_t, 2>{1, 1});
                     o.groups = a.integer("groups", 1);
                     o.activation = a.string("activation", "linear");
                     o.use_bias = a.boolean("use_bias", true);
                     o.in_channels = a.integer("input_channels", 0);
                     o.kernel_initializer = a.string("kernel_initializer", "glorot_uniform");
                     o.bias_initializer = a.string("bias_initializer", "zeros");
                     return std::make_shared<Conv2D>(a.positive("filters"), a.pair("kernel_size"), o);
                   }};
    t["MaxPooling1D"] = {pool_args, [](const Args& a) { return build_pool1d(Pool1D::Kind::kMax, a); }};
    t["AveragePooling1D"] = {pool_args, [](const Args& a) { return build_pool1d(Pool1D::Kind::kAverage, a); }};
    t["MaxPooling2D"] = {pool_args, [](const Args& a) { return build_pool2d(Pool2D::Kind::kMax, a); }};
    t["AveragePooling2D"] = {pool_args, [](const Args& a) { return build_pool2d(Pool2D::Kind::kAverage, a); }};
    t["GlobalMaxPooling1D"] = {{}, [](const Args&) -> ModulePtr { return std::make_shared<GlobalMaxPooling1D>(); }};
    t["GlobalAveragePooling1D"] = {{},
                                   [](const Args&) -> ModulePtr { return std::make_shared<GlobalAveragePooling1D>(); }};
    t["GlobalMaxPooling2D"] = {{}, [](const Args&) -> ModulePtr { return std::make_shared<GlobalMaxPooling2D>(); }};
    t["GlobalAveragePooling2D"] = {{},
                                   [](const Args&) -> ModulePtr { return std::make_shared<GlobalAveragePooling2D>(); }};
    const std::vector<std::string> rnn_args = {"units", "return_sequences", "use_bias", "input_dim"};
    t["LSTM"] = {rnn_args, [](const Args& a) -> ModulePtr {
                   return std::make_shared<LSTM>(a.positive("units"), recurrent_options(a));
                 }};
    t["GRU"] = {rnn_args, [](const Args& a) -> ModulePtr {
                  return std::make_shared<GRU>(a.positive("units"), recurrent_options(a));
                }};
    t["MultiHeadAttention"] = {{"num_heads", "key_dim", "use_bias", "causal"}, [](const Args& a) -> ModulePtr {
                                 MultiHeadAttentionOptions o;
                                 o.use_bias = a.boolean("use_bias", true);
                                 o.causal = a.boolean("causal", false);
                                 return std::make_shared<MultiHeadAttention>(a.positive("num_heads"),
                                                                             a.positive("key_dim"), o);
                               }};
    return t;
  }();
  return table;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

// Errors start "[layer] Conv2D: " (alone) or "[layers] layer 3 (Conv2D): " (in a list).
ModulePtr build_layer(const json& spec, std::optional<size_t> index) {
  const std::string where = index ? fmt::format("[layers] layer {} ", *index) : std::string("[layer] ");
  FORGE_CHECK(spec.is_object(), "{}must be an object like {{\"type\": \"Dense\", \"units\": 10}}, got {} ({})", where,
              json_type_name(spec), spec.dump());
  FORGE_CHECK(spec.contains("type"), "{}has no \"type\" (valid types: {})", where, join(layer_types()));
  FORGE_CHECK(spec["type"].is_string(), "{}\"type\" must be a string, got {}", where, spec["type"].dump());
  const std::string type = spec["type"].get<std::string>();
  const auto& table = registry();
  auto it = table.find(type);
  if (it == table.end()) {
    std::string hint;
    for (const auto& [name, entry] : table) {
      std::string a = name, b = type;
      std::transform(a.begin(), a.end(), a.begin(), ::tolower);
      std::transform(b.begin(), b.end(), b.begin(), ::tolower);
      if (a == b) hint = fmt::format(" (did you mean '{}'?)", name);
    }
    fail("{}unknown layer type '{}'{}; valid types: {}", where, type, hint, join(layer_types()));
  }
  const std::string prefix =
      index ? fmt::format("[layers] layer {} ({}): ", *index, type) : fmt::format("[layer] {}: ", type);
  for (const auto& [key, value] : spec.items()) {
    if (key == "type" || key == "name" || key == "inputs") continue;  // "inputs": graph models (nn/functional.h)
    const auto& allowed = it->second.arguments;
    FORGE_CHECK(std::find(allowed.begin(), allowed.end(), key) != allowed.end(),
                "{}unknown argument '{}'; valid arguments: {}", prefix, key, join(allowed));
  }
  try {
    return it->second.build(Args(spec, prefix));
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.rfind(prefix, 0) == 0) throw;
    throw Error(prefix + msg);
  }
}

}  // namespace

ModulePtr make_layer(const nlohmann::json& spec) { return build_layer(spec, std::nullopt); }

std::shared_ptr<Sequential> make_sequential(const nlohmann::json& layers) {
  FORGE_CHECK(layers.is_array(), "[layers] must be an array of layer specs, got {}", json_type_name(layers));
  FORGE_CHECK(!layers.empty(), "[layers] the model has no layers");
  auto seq = std::make_shared<Sequential>();
  for (size_t i = 0; i < layers.size(); ++i) seq->add(build_layer(layers[i], i));
  return seq;
}

std::vector<std::string> layer_types() {
  std::vector<std::string> out;
  for (const auto& [name, entry] : registry()) out.push_back(name);
  return out;
}

std::vector<std::string> layer_arguments(const std::string& type) {
  auto it = registry().find(type);
  FORGE_CHECK(it != registry().end(), "[layer] unknown layer type '{}'; valid types: {}", type, join(layer_types()));
  return it->second.arguments;
}

}  // namespace forge::nn
