#include "train/model.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "autograd/grad_mode.h"
#include "core/error.h"
#include "data/dataloader.h"
#include "nn/factory.h"
#include "nn/functional.h"
#include "ops/elementwise.h"
#include "ops/index.h"
#include "ops/precision.h"
#include "ops/reduce.h"
#include "optim/clip.h"
#include "train/callback_state.h"
#include "train/callbacks.h"
#include "train/compile.h"

namespace forge::train {

std::vector<double> History::column(const std::string& key) const {
  std::vector<double> out;
  out.reserve(epochs.size());
  for (const auto& e : epochs) {
    auto it = e.find(key);
    out.push_back(it == e.end() ? std::nan("") : it->second);
  }
  return out;
}

namespace {

std::string batch_shape_str(const Shape& s) {
  std::string out = "(None";
  for (size_t i = 1; i < s.size(); ++i) out += ", " + std::to_string(s[i]);
  return out + ")";
}

Shape with_batch(const Shape& input_shape, int64_t batch = 1) {
  Shape s{batch};
  s.insert(s.end(), input_shape.begin(), input_shape.end());
  return s;
}

// Restores the network's train/eval mode on scope exit.
struct ModeGuard {
  nn::Module& m;
  bool was;
  explicit ModeGuard(nn::Module& module, bool training) : m(module), was(module.is_training()) { m.train(training); }
  ~ModeGuard() { m.train(was); }
};

std::string thousands(int64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0 && digits[i - 1] != '-') out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}


}  // namespace

Model::Model(std::shared_ptr<nn::Module> network, Shape input_shape)
    : network_(std::move(network)), input_shape_(std::move(input_shape)) {
  FORGE_CHECK(network_ != nullptr, "[model] the network is null");
  build_network();
}

void Model::build_network() {
  Shape s = with_batch(input_shape_);
  if (auto* seq = dynamic_cast<nn::Sequential*>(network_.get())) {
    for (size_t i = 0; i < seq->size(); ++i) {
      const auto& layer = seq->at(i);
      Shape out;
      try {
        layer->build(s);
        out = layer->output_shape(s);
      } catch (const Error& e) {
        fail("[model] layer {} ({}) does not fit its input shape {}: {}", i, layer->name(), batch_shape_str(s),
             e.what());
      }
      for (int64_t d : out)
        FORGE_CHECK(d > 0, "[model] layer {} ({}) does not fit its input shape {}: the output shape would be {}", i,
                    layer->name(), batch_shape_str(s), batch_shape_str(out));
      s = out;
    }
    return;
  }
  try {
    network_->build(s);
  } catch (const Error& e) {
    fail("[model] {} does not fit the input shape {}: {}", network_->name(), batch_shape_str(s), e.what());
  }
}

Model Model::from_config(const nlohmann::json& layers, Shape input_shape) {
  std::shared_ptr<nn::Module> net;
  if (nn::is_graph_spec(layers))
    net = nn::make_functional(layers, input_shape);
  else
    net = nn::make_sequential(layers);
  Model model(std::move(net), std::move(input_shape));
  model.layer_specs_ = layers;
  return model;
}

Optimizer& Model::optimizer() {
  FORGE_CHECK(optimizer_ != nullptr, "[model] not compiled: call compile() first");
  return *optimizer_;
}

void Model::compile(const CompileOptions& options) {
  FORGE_CHECK(options.precision == "fp32" || options.precision == "bf16",
              "[compile] precision must be 'fp32' or 'bf16', got '{}'", options.precision);
  if (options.precision == "bf16") require_bf16("precision 'bf16'");
  check_loss_name(options.loss);
  FORGE_CHECK(options.clip_norm >= 0 && options.clip_value >= 0,
              "[compile] clip_norm and clip_value must be >= 0, got {} and {}", options.clip_norm, options.clip_value);
  std::vector<std::unique_ptr<metrics::Metric>> made;
  for (const auto& m : options.metrics) made.push_back(metrics::make_metric(m));
  auto opt = make_optimizer(options.optimizer, network_->named_parameters());
  schedule_ = make_schedule(options.schedule, opt->lr());
  optimizer_ = std::move(opt);
  metrics_ = std::move(made);
  compile_options_ = options;
}

Tensor Model::compute_loss(const Tensor& pred, const Tensor& target, const Tensor& sample_weight) const {
  Tensor per_sample = per_sample_loss(compile_options_.loss, pred, target);
  if (sample_weight.defined()) per_sample = mul(per_sample, sample_weight);
  return mean(per_sample);
}

namespace {

// Per-sample weights from class_weight (classes without an entry weigh 1).
Tensor sample_weights(const std::map<int64_t, double>& class_weight, const Tensor& target) {
  Tensor ids = metrics::target_classes(target);
  std::vector<float> w(static_cast<size_t>(ids.numel()));
  const auto* p = ids.data<int64_t>();
  for (size_t i = 0; i < w.size(); ++i) {
    auto it = class_weight.find(p[i]);
    w[i] = it == class_weight.end() ? 1.0f : static_cast<float>(it->second);
  }
  return from_vector(w, {ids.numel()});
}

}  // namespace

History Model::fit(const DatasetPtr& train, const FitOptions& options) {
  FORGE_CHECK(compiled(), "[fit] the model is not compiled: call compile() first");
  FORGE_CHECK(train != nullptr && train->size() > 0, "[fit] the training data set is empty");
  FORGE_CHECK(options.batch_size > 0, "[fit] batch_size must be positive, got {}", options.batch_size);
  FORGE_CHECK(options.validation_split >= 0 && options.validation_split < 1,
              "[fit] validation_split must be in [0, 1), got {}", options.validation_split);
  FORGE_CHECK(options.initial_epoch >= 0, "[fit] initial_epoch must be >= 0, got {}", options.initial_epoch);
  for (const auto& [cls, w] : options.class_weight)
    FORGE_CHECK(w >= 0 && std::isfinite(w), "[fit] class_weight for class {} must be finite and >= 0, got {}", cls, w);

  DatasetPtr train_data = train;
  DatasetPtr val_data = options.validation_data;
  if (!val_data && options.validation_split > 0) {
    const int64_t n = train->size();
    const auto split_at = static_cast<int64_t>(static_cast<double>(n) * (1.0 - options.validation_split));
    FORGE_CHECK(split_at > 0 && split_at < n, "[fit] validation_split {} of {} samples leaves an empty split",
                options.validation_split, n);
    std::vector<int64_t> head(static_cast<size_t>(split_at)), tail(static_cast<size_t>(n - split_at));
    for (int64_t i = 0; i < split_at; ++i) head[static_cast<size_t>(i)] = i;
    for (int64_t i = split_at; i < n; ++i) tail[static_cast<size_t>(i - split_at)] = i;
    train_data = std::make_shared<Subset>(train, std::move(head));
    val_data = std::make_shared<Subset>(train, std::move(tail));
  }

  DataLoader loader(train_data, {.batch_size = options.batch_size,
                                 .shuffle = options.shuffle,
                                 .seed = options.seed,
                                 .drop_last = false,
                                 .prefetch = options.prefetch});
  const int64_t steps = loader.num_batches();

  std::vector<CallbackPtr> callbacks = options.callbacks;
  bool has_progress = false;
  for (const auto& cb : callbacks)
    if (auto* bar = dynamic_cast<ProgressBar*>(cb.get())) {
      has_progress = true;
      bar->set_plan(options.epochs, steps, train_data->size());
    }
  if (!has_progress && (options.verbose > 0 || options.json)) {
    auto bar = std::make_shared<ProgressBar>(options.verbose, options.json);
    bar->set_plan(options.epochs, steps, train_data->size());
    callbacks.push_back(bar);
  }

  if (options.initial_epoch == 0) history_ = History{};
  while (static_cast<int64_t>(history_.epochs.size()) > options.initial_epoch) history_.epochs.pop_back();
  History result;
  stop_training_ = false;
  nan_message_.clear();
  network_->train(true);
  // bf16 matmuls/convolutions (fp32 master weights, gradients and optimizer state) for this fit.
  PrecisionGuard precision(parse_precision(compile_options_.precision));
  for (auto& cb : callbacks) cb->on_train_begin(*this);
  active_callbacks_ = callbacks;
  struct ClearActive {
    std::vector<CallbackPtr>& v;
    ~ClearActive() { v.clear(); }
  } clear_active{active_callbacks_};
  restore_callback_states(callbacks, pending_callback_state_, pending_callback_tensors_);
  pending_callback_state_ = nullptr;
  pending_callback_tensors_.clear();

  const NamedTensors params = optimizer_->params();
  for (int64_t epoch = options.initial_epoch; epoch < options.epochs && !stop_training_; ++epoch) {
    for (auto& cb : callbacks) cb->on_epoch_begin(*this, epoch);
    for (auto& m : metrics_) m->reset();
    double loss_sum = 0;
    int64_t seen = 0;
    int64_t step = 0;
    std::map<std::string, double> batch_logs;
    const int64_t metric_every = std::max<int64_t>(1, steps / 50);
    Example batch;
    loader.start_epoch(epoch);
    while (loader.next(batch)) {
      if (schedule_) schedule_->apply(*optimizer_, optimizer_->step_count());
      optimizer_->zero_grad();
      Tensor pred = network_->forward(batch.x);
      Tensor weights = options.class_weight.empty() ? Tensor() : sample_weights(options.class_weight, batch.y);
      Tensor loss = compute_loss(pred, batch.y, weights);
      const double value = loss.item();
      const int64_t n = batch.x.size(0);
      if (!std::isfinite(value)) {
        batch_logs["loss"] = value;
        batch_logs["batch_loss"] = value;
        for (auto& cb : callbacks) cb->on_batch_end(*this, step, batch_logs);
        nan_message_ = fmt::format(
            "[fit] loss is {} at epoch {}/{}, step {}/{}; training stopped (the weights are those of the last "
            "finite step)",
            std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf"), epoch + 1, options.epochs, step + 1, steps);
        if (options.verbose > 0 || options.json) std::fprintf(stderr, "%s\n", nan_message_.c_str());
        stop_training_ = true;
        break;
      }
      loss.backward();
      if (compile_options_.clip_value > 0) clip_grad_value(params, compile_options_.clip_value);
      if (compile_options_.clip_norm > 0) clip_grad_norm(params, compile_options_.clip_norm);
      optimizer_->step();
      loss_sum += value * static_cast<double>(n);
      seen += n;
      {
        NoGradGuard no_grad;
        Tensor p = pred.detach();
        for (auto& m : metrics_) m->update(p, batch.y);
      }
      batch_logs["loss"] = loss_sum / static_cast<double>(seen);
      batch_logs["batch_loss"] = value;
      batch_logs["lr"] = optimizer_->lr();
      if (step % metric_every == 0 || step + 1 == steps)
        for (auto& m : metrics_) batch_logs[m->name()] = m->result();
      for (auto& cb : callbacks) cb->on_batch_end(*this, step, batch_logs);
      ++step;
      if (stop_training_) break;
    }
    if (!nan_message_.empty()) break;
    std::map<std::string, double> logs;
    logs["loss"] = seen > 0 ? loss_sum / static_cast<double>(seen) : std::nan("");
    for (auto& m : metrics_) logs[m->name()] = m->result();
    if (val_data) {
      for (const auto& [key, value] : evaluate(val_data, std::max<int64_t>(options.batch_size, 256)))
        logs["val_" + key] = value;
    }
    logs["lr"] = optimizer_->lr();
    history_.epochs.push_back(logs);
    for (auto& cb : callbacks) cb->on_epoch_end(*this, epoch, logs);
    history_.epochs.back() = logs;
    result.epochs.push_back(logs);
  }
  for (auto& cb : callbacks) cb->on_train_end(*this);
  return result;
}

std::map<std::string, double> Model::evaluate(const DatasetPtr& data, int64_t batch_size) {
  FORGE_CHECK(compiled(), "[evaluate] the model is not compiled: call compile() first");
  FORGE_CHECK(data != nullptr && data->size() > 0, "[evaluate] the data set is empty");
  FORGE_CHECK(batch_size > 0, "[evaluate] batch_size must be positive, got {}", batch_size);
  ModeGuard mode(*network_, false);
  NoGradGuard no_grad;
  PrecisionGuard precision(parse_precision(compile_options_.precision));
  std::vector<std::unique_ptr<metrics::Metric>> ms;
  for (const auto& name : compile_options_.metrics) ms.push_back(metrics::make_metric(name));
  DataLoader loader(data, {.batch_size = batch_size});
  double loss_sum = 0;
  int64_t seen = 0;
  for (const Example& batch : loader.epoch(0)) {
    Tensor pred = network_->forward(batch.x);
    const int64_t n = batch.x.size(0);
    loss_sum += compute_loss(pred, batch.y, Tensor()).item() * static_cast<double>(n);
    seen += n;
    for (auto& m : ms) m->update(pred, batch.y);
  }
  std::map<std::string, double> out;
  out["loss"] = loss_sum / static_cast<double>(seen);
  for (auto& m : ms) out[m->name()] = m->result();
  return out;
}

Tensor Model::predict(const Tensor& x, int64_t batch_size) {
  FORGE_CHECK(batch_size > 0, "[predict] batch_size must be positive, got {}", batch_size);
  FORGE_CHECK(x.dim() == static_cast<int64_t>(input_shape_.size()) + 1,
              "[predict] input must be [N, {}] (batch + the model's input shape), got {}",
              fmt::join(input_shape_, ", "), shape_str(x));
  ModeGuard mode(*network_, false);
  NoGradGuard no_grad;
  PrecisionGuard precision(parse_precision(compile_options_.precision));
  const int64_t n = x.size(0);
  if (n <= batch_size) return network_->forward(x);
  Tensors parts;
  for (int64_t start = 0; start < n; start += batch_size)
    parts.push_back(network_->forward(x.slice(0, start, std::min(n, start + batch_size))));
  return concat(parts, 0);
}

std::string Model::summary() const {
  struct Row {
    std::string name, shape, params, connected;
  };
  std::vector<Row> rows;
  int64_t trainable = network_->num_parameters();
  int64_t non_trainable = 0;
  for (const auto& b : network_->named_buffers())
    if (b.tensor.dtype() == DType::kF32 || b.tensor.dtype() == DType::kF64) non_trainable += b.tensor.numel();
  Shape s = with_batch(input_shape_);
  if (auto* seq = dynamic_cast<const nn::Sequential*>(network_.get())) {
    std::map<std::string, int> counts;
    for (size_t i = 0; i < seq->size(); ++i) {
      const auto& layer = seq->at(i);
      s = layer->output_shape(s);
      std::string name;
      if (layer_specs_.is_array() && i < layer_specs_.size() && layer_specs_[i].contains("name") &&
          layer_specs_[i]["name"].is_string()) {
        name = layer_specs_[i]["name"].get<std::string>();
      } else {
        const std::string base = nn::snake_case(layer->name());
        const int k = counts[base]++;
        name = k == 0 ? base : base + "_" + std::to_string(k);
      }
      int64_t params = layer->num_parameters();
      for (const auto& b : layer->named_buffers())
        if (b.tensor.dtype() == DType::kF32 || b.tensor.dtype() == DType::kF64) params += b.tensor.numel();
      rows.push_back({name + " (" + layer->name() + ")", batch_shape_str(s), thousands(params), ""});
    }
  } else if (auto* graph = dynamic_cast<const nn::Functional*>(network_.get())) {
    for (const auto& node : graph->nodes()) {
      int64_t params = 0;
      if (node->layer) {
        params = node->layer->num_parameters();
        for (const auto& b : node->layer->named_buffers())
          if (b.tensor.dtype() == DType::kF32 || b.tensor.dtype() == DType::kF64) params += b.tensor.numel();
      }
      std::string connected;
      for (const auto& in : node->inputs) connected += (connected.empty() ? "" : ", ") + in->name;
      rows.push_back({node->name + " (" + node->type + ")", batch_shape_str(node->shape), thousands(params),
                      connected.empty() ? "-" : connected});
    }
  } else {
    s = network_->output_shape(s);
    rows.push_back({nn::snake_case(network_->name()) + " (" + network_->name() + ")", batch_shape_str(s),
                    thousands(trainable + non_trainable), ""});
  }
  size_t w0 = std::string("Layer (type)").size(), w1 = std::string("Output Shape").size(),
         w2 = std::string("Param #").size();
  for (const auto& r : rows) {
    w0 = std::max(w0, r.name.size());
    w1 = std::max(w1, r.shape.size());
    w2 = std::max(w2, r.params.size());
  }
  w0 += 4;
  w1 += 4;
  // Graph models add Keras' "Connected to" column.
  const bool graph = std::any_of(rows.begin(), rows.end(), [](const Row& r) { return !r.connected.empty(); });
  size_t w3 = 0;
  if (graph) {
    w3 = std::string("Connected to").size();
    for (const auto& r : rows) w3 = std::max(w3, r.connected.size());
    w3 += 4;
  }
  const size_t width = w0 + w1 + w2 + w3;
  auto line = [&](const std::string& a, const std::string& b, const std::string& c, const std::string& d) {
    std::string l = fmt::format("{:<{}}{:<{}}{:>{}}", a, w0, b, w1, c, w2);
    if (graph) l += fmt::format("    {}", d);
    return l + "\n";
  };
  std::string out = fmt::format("Model: \"{}\"\n", nn::snake_case(network_->name()));
  out += std::string(width, '_') + "\n";
  out += line("Layer (type)", "Output Shape", "Param #", "Connected to");
  out += std::string(width, '=') + "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    out += line(rows[i].name, rows[i].shape, rows[i].params, rows[i].connected);
    out += std::string(width, i + 1 == rows.size() ? '=' : '_') + "\n";
  }
  out += fmt::format("Total params: {}\n", thousands(trainable + non_trainable));
  out += fmt::format("Trainable params: {}\n", thousands(trainable));
  out += fmt::format("Non-trainable params: {}\n", thousands(non_trainable));
  return out;
}

}  // namespace forge::train
