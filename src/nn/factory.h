#pragma once
// Layer factory: builds layers from Keras-style JSON specs, the form configs use:
//   {"type": "Conv2D", "filters": 32, "kernel_size": 3, "activation": "relu"}
// Argument names follow Keras (units, activation, use_bias, filters, kernel_size (int or
// [h, w]), strides, padding "valid"|"same", dilation_rate, pool_size, rate, input_dim,
// output_dim, epsilon, momentum, return_sequences, num_heads, key_dim, ...); an optional
// "name" is accepted and ignored by the layer. Validation is strict: an unknown type lists
// the valid types, an unknown argument lists that layer's arguments, a wrong JSON type says
// which type was expected.
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"

namespace forge::nn {

// Builds one layer from its spec (an object with "type").
ModulePtr make_layer(const nlohmann::json& spec);
// Builds a Sequential from an array of specs; errors are prefixed "layer 3 (Conv2D): ...".
std::shared_ptr<Sequential> make_sequential(const nlohmann::json& layers);
// The layer types make_layer accepts, sorted.
std::vector<std::string> layer_types();
// The arguments a layer type accepts ("type" and "name" excluded); throws for unknown types.
std::vector<std::string> layer_arguments(const std::string& type);

}  // namespace forge::nn
