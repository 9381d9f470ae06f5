// Training throughput of the issue-5 text models on the fortunes data (same data, batch and
// optimizer as bench/reference/torch_text_models.py), and the data export that script reads.
//
//   bench_text_models speed CONFIG [--samples N] [--epochs E] [--threads K]
//       trains CONFIG's model (examples/*/config.toml) on the first N training sequences for E
//       epochs (the first is a warm-up) and prints training samples/s of the best epoch.
//   bench_text_models export CONFIG OUT.safetensors
//       writes the tokenized split (x_train, y_train, x_val, y_val, x_test, y_test: int64) and
//       the label names, so the PyTorch reference trains on exactly Forge's split and ids.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/parallel.h"
#include "data/dataset.h"
#include "formats/safetensors.h"
#include "train/config.h"
#include "train/model.h"
#include "train/run.h"

using namespace forge;

namespace {

Tensor rows(const DatasetPtr& d, bool x) {
  const Example e = materialize(*d);
  return (x ? e.x : e.y).contiguous();
}

int export_data(const std::string& config_path, const std::string& out) {
  const train::RunConfig config = train::load_run_config(config_path);
  const train::PreparedData data =
      train::prepare_data(config.data, config.train.seed, "sparse_categorical_crossentropy");
  std::vector<std::pair<std::string, Tensor>> tensors = {
      {"x_train", rows(data.train, true)}, {"y_train", rows(data.train, false).to(DType::kI64)},
      {"x_test", rows(data.test, true)},   {"y_test", rows(data.test, false).to(DType::kI64)}};
  if (data.validation) {
    tensors.push_back({"x_val", rows(data.validation, true)});
    tensors.push_back({"y_val", rows(data.validation, false).to(DType::kI64)});
  }
  std::string labels;
  for (const auto& l : data.raw.label_names) labels += (labels.empty() ? "" : "\n") + l;
  save_safetensors(out, tensors, {{"labels", labels}, {"description", data.description}});
  fmt::print("wrote {} ({})\n", out, data.description);
  return 0;
}

int speed(const std::string& config_path, int64_t samples, int64_t epochs, int threads) {
  if (threads > 0) set_num_threads(threads);
  const train::RunConfig config = train::load_run_config(config_path);
  train::PreparedData data = train::prepare_data(config.data, config.train.seed, config.train.loss);
  const Example all = materialize(*data.train);
  const int64_t n = std::min<int64_t>(samples, all.x.size(0));
  auto subset = std::make_shared<TensorDataset>(all.x.slice(0, 0, n).contiguous(), all.y.slice(0, 0, n).contiguous());
  train::Model model = train::Model::from_config(config.layers, data.input_shape);
  train::CompileOptions co;
  co.optimizer = config.train.optimizer;
  co.loss = data.loss;
  model.compile(co);
  double best = 0;
  for (int64_t e = 0; e < epochs; ++e) {
    const auto t0 = std::chrono::steady_clock::now();
    train::FitOptions fo;
    fo.epochs = 1;
    fo.batch_size = config.train.batch_size;
    fo.verbose = 0;
    model.fit(subset, fo);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double rate = static_cast<double>(n) / s;
    fmt::print("epoch {}: {:.0f} samples/s ({:.2f} s)\n", e + 1, rate, s);
    if (e > 0 || epochs == 1) best = std::max(best, rate);
  }
  fmt::print("{}: batch {}, {} threads: {:.0f} training samples/s (best epoch after warm-up)\n", config.name,
             config.train.batch_size, num_threads(), best);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc >= 4 && std::string(argv[1]) == "export") return export_data(argv[2], argv[3]);
    if (argc >= 3 && std::string(argv[1]) == "speed") {
      int64_t samples = 3200, epochs = 3;
      int threads = 0;
      for (int i = 3; i + 1 < argc; i += 2) {
        const std::string k = argv[i];
        if (k == "--samples") samples = std::atoll(argv[i + 1]);
        if (k == "--epochs") epochs = std::atoll(argv[i + 1]);
        if (k == "--threads") threads = std::atoi(argv[i + 1]);
      }
      return speed(argv[2], samples, epochs, threads);
    }
    std::cerr << "usage: bench_text_models speed CONFIG [--samples N] [--epochs E] [--threads K]\n"
                 "       bench_text_models export CONFIG OUT.safetensors\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
