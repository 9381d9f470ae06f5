// `forge predict MODEL_DIR INPUT...`: label + probabilities (or values) per input row.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "finetune/classifier_recipe.h"
#include "train/run.h"

namespace forge::cli {

void register_predict(CLI::App& app) {
  struct Args {
    std::string model_dir;
    std::vector<std::string> inputs;
    bool json = false;
    int top = 3;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "predict", "Predict with a saved model: CSV rows, IDX files, PNG/JPEG images, text lines or inline rows");
  cmd->add_option("model_dir", a->model_dir, "model directory (runs/<name>/model)")->required();
  cmd->add_option("inputs", a->inputs, "files, or inline rows like 5.1,3.5,1.4,0.2")->required();
  cmd->add_option("--top", a->top, "classes shown per input")->capture_default_str()->check(CLI::PositiveNumber);
  cmd->add_flag("--json", a->json, "one JSON object per prediction");
  cmd->callback([a] {
    const auto predictions = finetune::is_classifier_dir(a->model_dir)
                                 ? finetune::predict_classifier_inputs(a->model_dir, a->inputs)
                                 : train::predict_inputs(a->model_dir, a->inputs);
    for (const train::Prediction& p : predictions) {
      if (a->json) {
        std::cout << train::prediction_json(p).dump() << "\n";
        continue;
      }
      if (p.class_id < 0) {
        fmt::print(
            "{}: {}\n", p.source,
            p.values.size() == 1 ? fmt::format("{:.6g}", p.values[0]) : fmt::format("{}", fmt::join(p.values, ", ")));
        continue;
      }
      std::vector<size_t> order(p.probabilities.size());
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      std::stable_sort(order.begin(), order.end(),
                       [&](size_t x, size_t y) { return p.probabilities[x] > p.probabilities[y]; });
      std::string top;
      for (size_t i = 0; i < order.size() && i < static_cast<size_t>(a->top); ++i) {
        top += fmt::format("{}{} {:.3f}", i ? ", " : "", order[i], p.probabilities[order[i]]);
      }
      fmt::print("{}: {} (class {}, p={:.3f})  top: {}\n", p.source, p.label, p.class_id,
                 p.probabilities[static_cast<size_t>(p.class_id)], top);
    }
    std::cout.flush();
  });
}

}  // namespace forge::cli
