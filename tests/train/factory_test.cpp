#include "nn/factory.h"

#include <gtest/gtest.h>

#include "nn/layers/conv.h"
#include "nn/layers/core.h"
#include "test_util.h"

namespace forge::nn {
namespace {

using nlohmann::json;

TEST(Factory, BuildsEveryLayerType) {
  const std::map<std::string, json> specs = {
      {"Dense", {{"units", 4}}},
      {"Flatten", json::object()},
      {"Activation", {{"activation", "relu"}}},
      {"Dropout", {{"rate", 0.5}}},
      {"Embedding", {{"input_dim", 10}, {"output_dim", 4}}},
      {"BatchNormalization", {{"momentum", 0.1}, {"epsilon", 1e-3}}},
      {"LayerNormalization", {{"epsilon", 1e-6}}},
      {"Conv1D", {{"filters", 2}, {"kernel_size", 3}, {"padding", "same"}}},
      {"Conv2D", {{"filters", 2}, {"kernel_size", {3, 2}}, {"strides", 2}, {"dilation_rate", 1}}},
      {"MaxPooling1D", {{"pool_size", 2}}},
      {"AveragePooling1D", json::object()},
      {"MaxPooling2D", {{"pool_size", {2, 2}}, {"strides", 1}}},
      {"AveragePooling2D", {{"pool_size", 2}, {"padding", "same"}}},
      {"GlobalMaxPooling1D", json::object()},
      {"GlobalAveragePooling1D", json::object()},
      {"GlobalMaxPooling2D", json::object()},
      {"GlobalAveragePooling2D", json::object()},
      {"LSTM", {{"units", 3}, {"return_sequences", true}}},
      {"GRU", {{"units", 3}}},
      {"Permute", {{"dims", {2, 1}}}},
      {"MultiHeadAttention", {{"num_heads", 2}, {"key_dim", 4}}},
  };
  EXPECT_EQ(layer_types().size(), specs.size());
  for (const auto& type : layer_types()) {
    ASSERT_TRUE(specs.count(type)) << "no test spec for " << type;
    json spec = specs.at(type);
    spec["type"] = type;
    ModulePtr layer = make_layer(spec);
    EXPECT_EQ(layer->name(), type);
  }
}

TEST(Factory, PassesArguments) {
  auto conv = std::dynamic_pointer_cast<Conv2D>(
      make_layer({{"type", "Conv2D"}, {"filters", 8}, {"kernel_size", {3, 5}}, {"use_bias", false}}));
  ASSERT_TRUE(conv);
  EXPECT_EQ(conv->output_shape({2, 3, 10, 10}), (Shape{2, 8, 8, 6}));
  conv->build({2, 3, 10, 10});
  EXPECT_EQ(conv->weight().shape(), (Shape{8, 3, 3, 5}));
  EXPECT_FALSE(conv->bias().defined());
  auto dense = std::dynamic_pointer_cast<Dense>(make_layer({{"type", "Dense"}, {"units", 5}, {"input_dim", 7}}));
  EXPECT_EQ(dense->weight().shape(), (Shape{5, 7}));
  auto seq = make_sequential(json::parse(R"([{"type": "Flatten"}, {"type": "Dense", "units": 2, "name": "out"}])"));
  EXPECT_EQ(seq->size(), 2u);
  EXPECT_EQ(seq->output_shape({4, 2, 3}), (Shape{4, 2}));
}

TEST(Factory, Errors) {
  EXPECT_THROW_MSG(make_layer({{"type", "Dense2"}}), "unknown layer type 'Dense2'; valid types: ");
  EXPECT_THROW_MSG(make_layer({{"type", "Dense2"}}), "Conv2D");
  EXPECT_THROW_MSG(make_layer({{"type", "conv2d"}}), "did you mean 'Conv2D'");
  EXPECT_THROW_MSG(make_layer({{"units", 3}}), "has no \"type\"");
  EXPECT_THROW_MSG(make_layer(json::array()), "must be an object");
  EXPECT_THROW_MSG(make_layer({{"type", "Dense"}, {"unit", 3}}),
                   "[layer] Dense: unknown argument 'unit'; valid arguments: units, activation, use_bias");
  EXPECT_THROW_MSG(make_layer({{"type", "Dense"}}), "[layer] Dense: missing required argument 'units'");
  EXPECT_THROW_MSG(make_layer({{"type", "Dense"}, {"units", "ten"}}),
                   "argument 'units' must be an integer, got a string (\"ten\")");
  EXPECT_THROW_MSG(make_layer({{"type", "Dense"}, {"units", 3}, {"use_bias", 1}}),
                   "argument 'use_bias' must be a boolean");
  EXPECT_THROW_MSG(make_layer({{"type", "Dense"}, {"units", -3}}), "argument 'units' must be positive, got -3");
  EXPECT_THROW_MSG(make_layer({{"type", "Conv2D"}, {"filters", 3}, {"kernel_size", {1, 2, 3}}}),
                   "'kernel_size' must be an integer or a pair of integers [h, w]");
  EXPECT_THROW_MSG(make_layer({{"type", "Dropout"}, {"rate", "x"}}), "argument 'rate' must be a number");
  EXPECT_THROW_MSG(make_layer({{"type", "Dense"}, {"units", 3}, {"activation", "relux"}}), "[layer] Dense: ");
  EXPECT_THROW_MSG(make_layer({{"type", "Conv2D"}, {"filters", 3}, {"kernel_size", 3}, {"padding", "full"}}),
                   "padding must be 'valid' or 'same'");
  EXPECT_THROW_MSG(make_sequential(json::parse(R"([{"type": "Flatten"}, {"type": "Dense"}, {"type": "Dense",
                   "units": 2}, {"type": "Conv2D", "filters": 2, "kernel_size": 3, "bogus": 1}])")),
                   "[layers] layer 1 (Dense): missing required argument 'units'");
  EXPECT_THROW_MSG(make_sequential(json::parse(R"([{"type": "Flatten"}, {"type": "Conv2D", "filters": 2,
                   "kernel_size": 3, "bogus": 1}])")),
                   "[layers] layer 1 (Conv2D): unknown argument 'bogus'; valid arguments: filters, kernel_size");
  EXPECT_THROW_MSG(make_sequential(json::object()), "must be an array");
  EXPECT_THROW_MSG(make_sequential(json::array()), "no layers");
  EXPECT_THROW_MSG(layer_arguments("Nope"), "unknown layer type 'Nope'");
}

}  // namespace
}  // namespace forge::nn
