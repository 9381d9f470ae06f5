// `forge eval MODEL_DIR [--data NAME|CSV]`: metrics of a saved model on a data set.
#include <fmt/format.h>

#include <iostream>

#include "cli/commands.h"
#include "cli/print.h"
#include "finetune/classifier_recipe.h"
#include "train/run.h"

namespace forge::cli {

void register_eval(CLI::App& app) {
  struct Args {
    std::string model_dir, data;
    bool json = false;
  };
  auto a = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "Evaluate a saved model (default: on its data set's test split)");
  cmd->add_option("model_dir", a->model_dir, "model directory (runs/<name>/model)")->required();
  cmd->add_option("--data", a->data, "a built-in data set name or a CSV file with the target column");
  cmd->add_flag("--json", a->json, "print the result as JSON");
  cmd->callback([a] {
    const train::EvalResult r = finetune::is_classifier_dir(a->model_dir)
                                    ? finetune::evaluate_classifier_dir(a->model_dir, a->data)
                                    : train::evaluate_model_dir(a->model_dir, a->data);
    if (a->json) {
      nlohmann::json j = {{"data", r.description}, {"samples", r.samples}, {"metrics", r.metrics}};
      if (r.confusion.defined()) {
        const Tensor cm = r.confusion.to(DType::kI64).contiguous();
        const int64_t c = cm.size(0);
        for (int64_t i = 0; i < c; ++i) {
          j["confusion_matrix"].push_back(
              std::vector<int64_t>(cm.data<int64_t>() + i * c, cm.data<int64_t>() + (i + 1) * c));
        }
        j["label_names"] = r.label_names;
      }
      std::cout << j.dump() << std::endl;
      return;
    }
    fmt::print("data: {}\n{}\n", r.description, format_metrics(r.metrics));
    if (r.confusion.defined()) fmt::print("confusion matrix:\n{}", format_confusion(r.confusion, r.label_names));
  });
}

}  // namespace forge::cli
