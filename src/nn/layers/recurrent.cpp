#include "nn/layers/recurrent.h"

#include <cmath>

#include "nn/init.h"

namespace forge::nn {

Recurrent::Recurrent(int64_t units, int64_t gates, RecurrentOptions options)
    : units_(units), gates_(gates), options_(options) {
  FORGE_CHECK(units > 0, "[{}] units must be positive, got {}", gates == 4 ? "LSTM" : "GRU", units);
  FORGE_CHECK(options_.input_size >= 0, "[{}] input_size must be >= 0 (0 = infer), got {}", gates == 4 ? "LSTM" : "GRU",
              options_.input_size);
  if (options_.input_size > 0) create(options_.input_size);
}

void Recurrent::create(int64_t input_size) {
  const double bound = 1.0 / std::sqrt(static_cast<double>(units_));
  auto make = [&](const Shape& shape) {
    Tensor t = empty(shape);
    init::uniform_(t, generator(), -bound, bound);
    return t;
  };
  weight_ih_ = register_parameter("weight_ih", make({gates_ * units_, input_size}));
  weight_hh_ = register_parameter("weight_hh", make({gates_ * units_, units_}));
  if (options_.use_bias) {
    bias_ih_ = register_parameter("bias_ih", make({gates_ * units_}));
    bias_hh_ = register_parameter("bias_hh", make({gates_ * units_}));
  }
}

void Recurrent::build(const Shape& input_shape) {
  if (built()) return;
  FORGE_CHECK(input_shape.size() == 3, "[{}] input must be 3-d (N,T,features), got {}", name(), shape_str(input_shape));
  create(input_shape[2]);
}

void Recurrent::build_from_state(const std::map<std::string, Tensor>& own) {
  auto it = own.find("weight_ih");
  if (!built() && it != own.end() && it->second.dim() == 2) create(it->second.shape()[1]);
}

Shape Recurrent::output_shape(const Shape& input) const {
  FORGE_CHECK(input.size() == 3, "[{}] input must be 3-d (N,T,features), got {}", name(), shape_str(input));
  FORGE_CHECK(!built() || input[2] == weight_ih_.shape()[1],
              "[{}] input has {} features (last axis of {}), expected {}", name(), input[2], shape_str(input),
              weight_ih_.shape()[1]);
  if (options_.return_sequences) return {input[0], input[1], units_};
  return {input[0], units_};
}

void Recurrent::check_input(const Tensor& input) {
  FORGE_CHECK(input.defined(), "[{}] input is undefined", name());
  build(input.shape());
  output_shape(input.shape());
}

Tensor Recurrent::forward(const Tensor& input) {
  RNNOutput out = run(input, {});
  return options_.return_sequences ? out.sequence : out.h;
}

Tensors Recurrent::call(const Tensor& input, const LSTMState& initial) {
  RNNOutput out = run(input, initial);
  Tensors result{options_.return_sequences ? out.sequence : out.h};
  if (options_.return_state) {
    result.push_back(out.h);
    if (is_lstm()) result.push_back(out.c);
  }
  return result;
}

RNNOutput LSTM::run(const Tensor& input, const LSTMState& initial) {
  check_input(input);
  return lstm(input, weight_ih_, weight_hh_, bias_ih_, bias_hh_, initial);
}

RNNOutput GRU::run(const Tensor& input, const LSTMState& initial) {
  check_input(input);
  return gru(input, weight_ih_, weight_hh_, bias_ih_, bias_hh_, initial.h);
}

}  // namespace forge::nn
